"""Suite specs: YAML files naming slices, their generator, strata grid and scoring.

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
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalcliff.errors import EvalcliffError

SUITES_DIR = Path(__file__).resolve().parents[2] / "suites"


class GenerationSpec(BaseModel):
    """Greedy generation settings for a slice."""

    model_config = ConfigDict(extra="forbid")

    max_gen_toks: int = Field(32, ge=1)
    until: list[str] = Field(default_factory=lambda: ["\n"])


class SliceSpec(BaseModel):
    """One slice: how its items are generated, scored and weighed."""

    model_config = ConfigDict(extra="forbid")

    generator: str
    scorer: str
    weight: float = Field(ge=0.0)
    margin: float | None = Field(None, ge=0.0)
    max_catastrophic_increase: float | None = Field(None, ge=0.0)
    generation: GenerationSpec = Field(default_factory=GenerationSpec)
    strata: dict[str, list[Any]]
    items_per_stratum: int = Field(ge=1)
    params: dict[str, Any] = Field(default_factory=dict)

    def strata_params(self) -> list[tuple[str, dict[str, Any]]]:
        """(stratum label like `len=256,depth=0.5`, generator params) for every grid cell."""
        keys = list(self.strata)
        cells = []
        for values in itertools.product(*(self.strata[k] for k in keys)):
            label = ",".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
            cells.append((label, {**self.params, **dict(zip(keys, values, strict=True))}))
        return cells


class SuiteSpec(BaseModel):
    """A suite: named, versioned, seeded set of slices."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = 1
    seed: int = 0
    description: str = ""
    slices: dict[str, SliceSpec]


def resolve_suite_path(name_or_path: str) -> Path:
    """A suite YAML path from a path, or a name looked up in ./suites then the repo's suites/."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.exists():
            raise EvalcliffError(f"{p}: suite file not found")
        return p
    for base in (Path.cwd() / "suites", SUITES_DIR):
        cand = base / f"{name_or_path}.yaml"
        if cand.exists():
            return cand
    known = sorted(q.stem for q in SUITES_DIR.glob("*.yaml"))
    raise EvalcliffError(f"unknown suite {name_or_path!r}; known: {known}, or pass a .yaml path")


def load_suite(name_or_path: str) -> SuiteSpec:
    """Load and validate a suite spec; errors name the file and the offending field."""
    path = resolve_suite_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise EvalcliffError(f"{path}: invalid YAML: {exc}") from None
    try:
        return SuiteSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise EvalcliffError(f"{path}: {loc}: {err['msg']}") from None
