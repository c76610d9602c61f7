"""Suite specs: YAML files naming slices, their item source, strata grid and scoring.

```yaml
name: smoke
version: 1
seed: 20261122
slices:
  head:
    generator: head            # a name in evalcliff.suites.generators.GENERATORS
    scorer: exact              # a name in evalcliff.scoring.SCORERS
    weight: 0.85               # share of production traffic
    margin: 0.02               # largest tolerated drop of the slice mean (fraction)
    max_catastrophic_increase: null
    generation: {max_gen_toks: 12, until: ["\\n"]}
    strata: {task: [succ, copy, rev, add]}   # grid: every combination is one stratum
    items_per_stratum: 30
    params: {}                 # fixed generator params
```

A slice takes its items from exactly one of: `generator` (built deterministically),
`source: {jsonl: PATH}` (a file of items in the item schema; a relative PATH resolves against
the suite file's directory), or `lm_eval_task: NAME` (an lm-eval task by name, executed by the
runner, which has no items at build time). `strata` is one grid or a list of grids (their
union), for slices whose strata do not form a full product.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from evalcliff.errors import EvalcliffError
from evalcliff.textio import load_yaml, read_text


def _builtin_suites_dir() -> Path:
    """The built-in suites: the top-level suites/, installed as `evalcliff._builtin_suites`
    (pyproject.toml maps it), so a wheel and an editable install both carry them."""
    import importlib.resources

    try:
        return Path(str(importlib.resources.files("evalcliff._builtin_suites")))
    except ModuleNotFoundError:  # a source checkout used without installing it
        return Path(__file__).resolve().parents[2] / "suites"


SUITES_DIR = _builtin_suites_dir()
_TASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

StrataGrid = dict[str, list[Any]]


class GenerationSpec(BaseModel):
    """Greedy generation settings for a slice."""

    model_config = ConfigDict(extra="forbid")

    max_gen_toks: int = Field(32, ge=1)
    until: list[str] = Field(default_factory=lambda: ["\n"])


class SourceSpec(BaseModel):
    """Items read from a file instead of generated."""

    model_config = ConfigDict(extra="forbid")

    jsonl: str = Field(min_length=1)


class SliceSpec(BaseModel):
    """One slice: where its items come from, and how they are scored and weighed."""

    model_config = ConfigDict(extra="forbid")

    generator: str | None = None
    source: SourceSpec | None = None
    lm_eval_task: str | None = None
    # directory of lm-eval task YAMLs defining `lm_eval_task` (relative to the suite file);
    # without it the task is looked up among lm-eval's built-in tasks
    lm_eval_include: str | None = None
    # the scorer's name, or for an lm_eval_task slice the lm-eval per-sample metric (e.g. acc)
    scorer: str = Field(min_length=1)
    # a share of production traffic, in [0, 1]
    weight: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)
    # a fraction of the score scale: 0.02 is two points; 1 or more would pass every slice
    margin: float | None = Field(None, gt=0.0, lt=1.0, allow_inf_nan=False)
    max_catastrophic_increase: float | None = Field(None, ge=0.0, le=1.0, allow_inf_nan=False)
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    strata: StrataGrid | list[StrataGrid] = Field(default_factory=dict)
    items_per_stratum: int | None = Field(None, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> SliceSpec:
        given = [k for k in ("generator", "source", "lm_eval_task") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a slice needs exactly one of `generator`, `source` or `lm_eval_task`"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.lm_eval_task is not None and not _TASK_NAME.match(self.lm_eval_task):
            raise ValueError(f"lm_eval_task {self.lm_eval_task!r} is not a task name")
        grids = self.strata if isinstance(self.strata, list) else [self.strata]
        for grid in grids:
            for key, values in grid.items():
                if not values:
                    raise ValueError(f"stratum key {key!r} has no values")
        if self.generator is not None:
            if not any(grids):
                raise ValueError("a generator slice needs `strata`")
            if self.items_per_stratum is None:
                raise ValueError("a generator slice needs `items_per_stratum`")
            from evalcliff.suites.generators import check_generator_slice

            problem = check_generator_slice(self.generator, self.scorer, self.params, grids)
            if problem:
                raise ValueError(problem)
        if self.lm_eval_task is None:  # an lm-eval slice's scorer is the task's metric name
            from evalcliff.scoring import SCORERS

            if self.scorer not in SCORERS:
                raise ValueError(
                    f"scorer: unknown scorer {self.scorer!r}; known: {', '.join(sorted(SCORERS))}"
                )
        return self

    @property
    def kind(self) -> str:
        """Where the items come from: "generator", "jsonl" or "lm_eval"."""
        if self.generator is not None:
            return "generator"
        return "jsonl" if self.source is not None else "lm_eval"

    def strata_params(self) -> list[tuple[str, dict[str, Any]]]:
        """(stratum label like `len=256,depth=0.5`, generator params) for every grid cell.

        With a list of grids, the cells of each grid in turn (a label appearing twice is kept
        once). Slices without a generator have no declared cells unless `strata` is given.
        """
        grids = self.strata if isinstance(self.strata, list) else [self.strata]
        cells: list[tuple[str, dict[str, Any]]] = []
        seen: set[str] = set()
        for grid in grids:
            if not grid:
                continue
            keys = list(grid)
            for values in itertools.product(*(grid[k] for k in keys)):
                label = ",".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
                if label not in seen:
                    seen.add(label)
                    cells.append((label, {**self.params, **dict(zip(keys, values, strict=True))}))
        return cells


class SuiteSpec(BaseModel):
    """A suite: named, versioned, seeded set of slices."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[^\x00-\x1f\x7f/\\]+$")
    version: int = 1
    seed: int = 0
    description: str = ""
    slices: dict[str, SliceSpec] = Field(min_length=1)
    _base_dir: Path | None = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Path:
        """The directory relative source paths resolve against: the suite file's, else cwd."""
        return self._base_dir if self._base_dir is not None else Path.cwd()

    def resolve_path(self, path: str) -> Path:
        """`path` as given when absolute, else relative to `base_dir`."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def resolve_suite_path(name_or_path: str) -> Path:
    """A suite YAML: a `.yaml`/`.yml` path as given; else a name, looked up as
    ./suites/NAME.yaml in the working directory, then among the built-in suites."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.exists():
            raise EvalcliffError(f"{p}: suite file not found")
        return p
    local = Path.cwd() / "suites"
    for base in (local, SUITES_DIR):
        cand = base / f"{name_or_path}.yaml"
        if cand.is_file():
            return cand
    known = sorted({q.stem for base in (local, SUITES_DIR) for q in base.glob("*.yaml")})
    raise EvalcliffError(f"unknown suite {name_or_path!r}; known: {known}, or pass a .yaml path")


def load_suite(name_or_path: str) -> SuiteSpec:
    """Load and validate a suite spec; errors name the file and the offending field."""
    path = resolve_suite_path(name_or_path)
    data = load_yaml(read_text(path, "suite file"), path)
    if not isinstance(data, dict):
        raise EvalcliffError(f"{path}: expected a mapping with name, slices, ... at the top")
    try:
        spec = SuiteSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"] if not str(x).startswith(("list[", "dict[")))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "too_short" and loc == "slices":
            msg = "a suite needs at least one slice"
        line = f"{path}: {loc}: {msg}" if loc else f"{path}: {msg}"
        raise EvalcliffError(" ".join(line.split())) from None
    spec._base_dir = path.resolve().parent
    return spec
