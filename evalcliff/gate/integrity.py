"""Checks that two stored runs can be judged: each run's rows agree with its header, and
two headers describe one suite build. Every failure is an EvalcliffError naming the file."""

from __future__ import annotations

from evalcliff.errors import EvalcliffError
from evalcliff.schema.run import RunArtifact

_SHOW = 3


def _some(lines: list[str], show: int = _SHOW) -> str:
    more = f" (and {len(lines) - show} more)" if len(lines) > show else ""
    return "; ".join(lines[:show]) + more


def header_mismatches(run: RunArtifact) -> list[str]:
    """What in `run`'s rows disagrees with its header ([] when it agrees or has no header):
    the row count against `n_items`, the rows carrying an error against `n_errors`, and per
    slice the rows against the suite manifest's `n`. The manifest describes the items the
    run was given, so a limited run's (`--limit`) and a sequential run's (the items its
    looks ran) counts are those of the rows. An `lm_eval_task` slice has no items at build
    time (its manifest `n` is 0): only its rows' share of `n_items` is checked."""
    h = run.header
    if h is None:
        return []
    df = run.results
    out: list[str] = []
    if len(df) != h.n_items:
        out.append(f"the header says {h.n_items} items, the file holds {len(df)} rows")
    # an error is what the gate drops from the pairing: a non-empty `error`
    errors = int((df["error"].astype("string").fillna("") != "").sum())
    if errors != h.n_errors:
        out.append(f"the header says {h.n_errors} errored items, {errors} rows carry an error")
    counts = df["slice"].astype(str).value_counts()
    for name, sl in h.suite.slices.items():
        held = int(counts.get(name, 0))
        if sl.kind != "lm_eval" and held != sl.n:
            out.append(f"slice {name!r} holds {held} rows, its suite manifest says {sl.n}")
    for name in sorted(set(counts.index) - set(h.suite.slices)):
        out.append(f"slice {name!r} ({int(counts[name])} rows) is not in the suite manifest")
    return out


def check_rows_match_header(run: RunArtifact) -> None:
    """EvalcliffError when `run`'s rows disagree with its header (`header_mismatches`): rows
    left out of (or added to) a run would otherwise be judged as if it were whole."""
    found = header_mismatches(run)
    if found:
        raise EvalcliffError(
            f"{run.path}: rows do not match the run header: {_some(found)}; the run is"
            " incomplete or was edited: run the variant again"
        )


def build_differences(base: RunArtifact, cand: RunArtifact) -> list[str]:
    """Human lines naming how the two runs' suite builds differ ([] unless both have a
    header): per slice the results hold, scorer, generation settings or items
    (`SuiteManifest.differences`); then the build as a whole: suite name, build seed, run
    seed and content hash.

    With rows that match their headers (`check_rows_match_header`) and the same item ids
    on both sides, equal slices leave the whole-build fields equal too, except when the
    builds list the same slices in another order; so a difference there that no slice
    shows means a header was edited, or a suite renamed or reordered: refused all the same.
    """
    if base.header is None or cand.header is None:
        return []
    a, b = base.header.suite, cand.header.suite
    present = set(base.results["slice"].astype(str)) | set(cand.results["slice"].astype(str))
    slices = [s for s in dict.fromkeys([*a.slices, *b.slices]) if s in present]
    out = a.differences(b, slices)
    fields = (
        ("suite name", a.name, b.name),
        ("suite seed", a.seed, b.seed),
        ("run seed", base.header.seed, cand.header.seed),
        ("suite content hash", a.content_hash, b.content_hash),
    )
    out += [f"{what} {x!r} vs {y!r}" for what, x, y in fields if x != y]
    return out


def refuse_unpairable(base: RunArtifact, cand: RunArtifact) -> None:
    """EvalcliffError when both runs carry a header and their suite builds differ
    (`build_differences`)."""
    diffs = build_differences(base, cand)
    if diffs:
        raise EvalcliffError(
            f"{base.path} and {cand.path} cannot be paired: {_some(diffs, 2)};"
            " run both variants on the same suite build"
        )


def unchecked_build_note(base: RunArtifact, cand: RunArtifact) -> str | None:
    """The warning for a comparison where only one run has a header (a JSONL results file
    or lm-eval samples beside a run file): the suite builds could not be compared, only
    each item's prompt hash and target. None when both or neither have one."""
    sides = [side for side, run in (("base", base), ("cand", cand)) if run.header is None]
    if len(sides) != 1:
        return None
    bare = base if sides[0] == "base" else cand
    return (
        f"UNCHECKED BUILD: the {sides[0]} run ({bare.path.name}) has no run header, so the"
        " two suite builds (scorers, generation settings, item meta) could not be compared;"
        " only each item's prompt hash and target were"
    )
