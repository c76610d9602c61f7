"""Shared helpers for the scoring tests."""

from __future__ import annotations

from typing import Any

import pytest

from evalcliff.suites.items import Item


def make_item(target: str, prompt: str = "Q?", slice_: str = "head", **meta: Any) -> Item:
    """A minimal item for scorer tests."""
    return Item(
        item_id="t-1",
        suite="test",
        slice=slice_,
        stratum="s",
        cluster_id="c",
        prompt=prompt,
        target=target,
        meta=meta,
    )


@pytest.fixture
def item_factory() -> Any:
    return make_item
