"""A variant's loaded backend for one run, or held across several runs in one process.

`loaded_backend` loads the backend for one run (starting its server first for a served
variant) and stops it afterwards. `HeldBackend` keeps one variant's model loaded, and its
server up, across the runs of one worker process: the looks of a sequential run
(`runner.many.RunPool`), which would otherwise each pay a worker start and a model load.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalcliff.config.variants import VariantConfig
from evalcliff.serve import served
from evalcliff.suites.items import Item


def load_backend(variant: VariantConfig, items: list[Item]) -> tuple[Any, dict[str, Any]]:
    """The backend's LM and identity, loaded with the cyclic garbage collector paused.

    Loading imports torch, transformers and lm-eval (~400k objects) and the weights; each
    full collection on the way walks the whole heap again (~0.8 s of CPU in all on the
    embedded model). What is alive then lives as long as the run, so it is frozen out of
    collections until the run ends (`run_variant` calls `gc.unfreeze`). A collection first
    frees what an earlier run in this process left in reference cycles (e.g. its model)."""
    from evalcliff.backends import make_lm

    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        return make_lm(variant, items)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


class HeldBackend:
    """One variant's backend, loaded on the first run that asks for it and kept (model in
    memory, server up) until `close()`.

    `items` are what the backend is built over (every item any run will ask for: the mock
    backend answers from this table; real backends ignore it). Each `get` hands back the
    same LM (a run's `install_journal` replaces the previous run's journal on it) and a copy
    of the identity (a run adds to it).
    """

    def __init__(self, items: list[Item]) -> None:
        self._items = items
        self._stack = contextlib.ExitStack()
        self._held: tuple[str, VariantConfig, Any, dict[str, Any]] | None = None

    def get(self, name: str, variant: VariantConfig, log_dir: Path) -> tuple[Any, dict[str, Any]]:
        """(LM, identity) of `variant`; the first call loads it (its server logs to
        `log_dir`). Raises ValueError for a variant other than the one held."""
        if self._held is None:
            run_v, served_identity = self._stack.enter_context(served(name, variant, log_dir))
            lm, identity = load_backend(run_v, self._items)
            identity.update(served_identity)
            self._held = (name, variant, lm, identity)
        held_name, held, lm, identity = self._held
        if (held_name, held) != (name, variant):
            raise ValueError(f"this HeldBackend holds variant {held_name!r} only, not {name!r}")
        return lm, dict(identity)

    def close(self) -> None:
        """Stop the server (if any) and drop the model."""
        self._held = None
        self._stack.close()

    def __enter__(self) -> HeldBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def loaded_backend(
    name: str,
    variant: VariantConfig,
    log_dir: Path,
    items: list[Item],
    held: HeldBackend | None = None,
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(LM, identity) for one run: from `held` when given, else loaded now (its server
    started first, for a served variant) and stopped when the block ends."""
    if held is not None:
        yield held.get(name, variant, log_dir)
        return
    with served(name, variant, log_dir) as (run_v, served_identity):
        lm, identity = load_backend(run_v, items)
        identity.update(served_identity)
        yield lm, identity
