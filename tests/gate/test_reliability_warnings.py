"""compare_runs warns about slices whose CI the validation study found unreliable."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from evalcliff.gate import Policy, compare_runs
from evalcliff.schema import Summary
from evalcliff.stats.reliability import MIN_CLUSTERS, MIN_INFORMATIVE_ITEMS, MIN_ITEMS

RunFactory = Callable[..., pd.DataFrame]
FAST = Policy(n_resamples=1000)


def _warned(summary: Summary, name: str) -> list[str]:
    return [w for w in summary.warnings if w.startswith(f"{name}:")]


def test_small_slice_and_few_flips_are_warned(make_run: RunFactory, degrade: RunFactory) -> None:
    base = make_run({"big": 1000, "tiny": MIN_ITEMS // 2})
    cand = degrade(degrade(base, "big", 0.1), "tiny", 0.1, seed=2)
    out = compare_runs(base, cand, FAST)
    big = out.slice_named("big")
    assert big.n_clusters == 1000 and big.n_informative >= MIN_INFORMATIVE_ITEMS
    assert _warned(out, "big") == []
    (msg,) = _warned(out, "tiny")
    assert f"only {MIN_ITEMS // 2} items" in msg and "nonzero difference" in msg


def test_few_clusters_are_warned(make_run: RunFactory, degrade: RunFactory) -> None:
    base = make_run({"clustered": 400}, cluster_size=20)  # 20 clusters
    out = compare_runs(base, degrade(base, "clustered", 0.2), FAST)
    row = out.slices[0]
    assert row.n_clusters == 20 < MIN_CLUSTERS
    (msg,) = _warned(out, "clustered")
    assert "only 20 clusters" in msg


def test_identical_runs_warn_only_when_the_margin_is_not_safe(make_run: RunFactory) -> None:
    # No item changed. With 300 items an exact 97.5% bound on the share that could have
    # changed is 1 - 0.025^(1/300) = 1.2% < the 2-point margin: no warning. With 120 items
    # it is 3.0%: the GO rests on a degenerate CI, so it is flagged.
    base = make_run({"big": 300, "small": 120})
    out = compare_runs(base, base.copy(), FAST)
    assert out.verdict == "go"
    assert _warned(out, "big") == []
    (msg,) = _warned(out, "small")
    assert "only 0 items with a nonzero difference" in msg


def test_strict_policy_refuses_a_pass_on_an_unreliable_ci(make_run: RunFactory) -> None:
    # 160 items, 3 flipped to wrong: the bootstrap CI clears a 5-point margin, but 3
    # informative items are too few for it to cover at 95% (validation study), and an exact
    # bound on the changed share (5.4%) does not rule out a drop past the margin.
    base = make_run({"tail": 160}, p_correct=0.6)
    cand = base.copy()
    hit = cand.index[cand["correct"]][:3]
    cand.loc[hit, ["score", "correct"]] = [0.0, False]
    policy = {"n_resamples": 1000, "margin": 0.05}
    loose = compare_runs(base, cand, Policy(**policy))
    assert loose.verdict == "go" and _warned(loose, "tail")
    strict = compare_runs(base, cand, Policy(**policy, unreliable_pass="inconclusive"))
    row = strict.slices[0]
    assert strict.verdict == "inconclusive" and row.status == "inconclusive"
    assert row.unreliable and row.items_needed >= MIN_ITEMS
    assert any("unreliable_pass" in r for r in strict.reasons)
    # enough identical items make the exact bound safe: strict mode passes an A/A run
    same = make_run({"tail": 300}, p_correct=0.6)
    aa = compare_runs(same, same.copy(), Policy(**policy, unreliable_pass="inconclusive"))
    assert aa.verdict == "go"


def test_a_single_cluster_decides_nothing(make_run: RunFactory, degrade: RunFactory) -> None:
    # 30 items from one source: the cluster bootstrap's "CI" is the point estimate, which
    # the validation study showed gives false NO-GOs up to 33% of the time at a true 0.
    base = make_run({"one": 30}, cluster_size=30)
    out = compare_runs(base, degrade(base, "one", 0.5), FAST)
    row = out.slices[0]
    assert row.n_clusters == 1 and row.delta < -0.02
    assert row.status == "inconclusive" and out.verdict == "inconclusive"
    assert any("one cluster" in r for r in out.reasons)
