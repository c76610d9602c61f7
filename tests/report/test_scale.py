"""The report at scale: many slices render in time linear in slices and items."""

from __future__ import annotations

from pathlib import Path

from evalcliff.dev.bench.render import render_markdown, render_timing


def test_many_slices_render_quickly(tmp_path: Path) -> None:
    r = render_timing(tmp_path, n_slices=200, per_slice=60, n_resamples=200)
    html = (tmp_path / "render-bench.html").read_text(encoding="utf-8")
    assert html.count("data-plot=") == 1  # one forest figure, however many slices
    assert html.count('<tr data-slice="') > 0  # the flips browser
    assert "slice_199" in html and "len=32k" in html
    # generous: the old per-subplot rendering took minutes at this size on 2 cores
    assert r["render_s"] < 30, r
    assert "Report at scale: 200 slices" in render_markdown(r)
