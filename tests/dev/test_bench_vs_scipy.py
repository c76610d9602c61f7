"""Our paired bootstrap agrees with scipy.stats.bootstrap (the benchmark's reference)."""

from __future__ import annotations

import pytest

from evalcliff.dev.bench.timing import compare_end_to_end, ours, scipy_paired, timed
from evalcliff.dev.bench.workloads import binary, continuous


@pytest.mark.parametrize("make", [binary, continuous])
def test_same_interval_as_scipy(make: object) -> None:
    w = make(4000, 2)  # type: ignore[operator]
    (lo, hi), _ = ours(w, [0, 1], 4000)()
    (slo, shi), _ = scipy_paired(w, [0, 1], 4000, batch=1000)()
    width = hi - lo
    assert lo == pytest.approx(slo, abs=0.06 * width)
    assert hi == pytest.approx(shi, abs=0.06 * width)


def test_timed_and_end_to_end() -> None:
    t = timed(compare_end_to_end(binary(400, 2, cluster_size=4), 200), 1)
    assert t["value"] in {"go", "no-go", "inconclusive"}
    assert t["wall_s_min"] >= 0 and t["repeats"] == 1
