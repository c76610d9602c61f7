"""`python -m evalcliff.dev.bench [--out DIR] [--full] [--only SECTION ...]`.

Writes DIR/bench.json and DIR/bench.md (DIR defaults to reports/). The default is the quick
mode (a few minutes: a limited suite for the whole-process timings, one repeat of the
continuous bootstrap); `--full` times the whole smoke suite and repeats more.

Sections are a registry of lazy imports (`SECTIONS`): each is a module with
`section(quick: bool, work: Path) -> dict` (or an adapter in `ADAPTERS`) whose result holds a
`markdown` list of lines. A section whose module is absent is skipped.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

# name -> module with `section(quick, work)`; the order is the report's.
SECTIONS: dict[str, str] = {
    "harness": "evalcliff.dev.bench.harness",
    "bootstrap": "evalcliff.dev.bench.bootstrap",
    "decision": "evalcliff.dev.bench.decision",
    "render": "evalcliff.dev.bench.render",
    "vllm": "evalcliff.dev.bench.vllm",  # GPU + vLLM only; says why it skipped otherwise
}


def _render(quick: bool, work: Path) -> dict[str, Any]:
    """The report-scale timing (evalcliff.dev.bench.render) at 20 and 400 slices."""
    from evalcliff.dev.bench import render

    work.mkdir(parents=True, exist_ok=True)
    resamples = 2000 if quick else None
    runs = [render.render_timing(work, n, n_resamples=resamples) for n in (20, 400)]
    md = [line for r in runs for line in render.render_markdown(r).splitlines()]
    return {"runs": runs, "markdown": md}


# Sections whose module has no `section` function yet.
ADAPTERS = {"render": _render}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import numpy as np
    import scipy

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        # whole-process timings run one thread; the bootstrap section records its own
        # thread count (one-thread rows plus an all-threads table)
        "threads_used": 1,
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        info["memory_gib"] = round(int(mem) / 2**20, 1)
    except (OSError, IndexError, ValueError):
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark sections and write the reports; returns the exit code."""
    ap = argparse.ArgumentParser(prog="python -m evalcliff.dev.bench")
    ap.add_argument("--out", type=Path, default=Path("reports"))
    ap.add_argument("--full", action="store_true", help="Whole smoke suite, more repeats.")
    ap.add_argument("--only", nargs="*", choices=sorted(SECTIONS), help="Sections to run.")
    ap.add_argument("--work", type=Path, default=Path(".evalcliff") / "bench")
    a = ap.parse_args(argv)
    quick = not a.full
    t0 = time.perf_counter()
    result: dict[str, Any] = {"mode": "quick" if quick else "full", "machine": machine()}
    sections: dict[str, Any] = {}
    for name, module in SECTIONS.items():
        if a.only and name not in a.only:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        print(f"bench: {name}", file=sys.stderr)
        s0 = time.perf_counter()
        run = getattr(mod, "section", None) or ADAPTERS[name]
        sections[name] = run(quick, a.work / name)
        sections[name]["section_wall_s"] = time.perf_counter() - s0
    result["sections"] = sections
    result["total_wall_s"] = time.perf_counter() - t0
    result["machine"]["load_avg_after"] = os.getloadavg()
    md = [
        "# evalcliff benchmark",
        "",
        f"`make bench` ({result['mode']} mode; `python -m evalcliff.dev.bench"
        f"{'' if quick else ' --full'}`), {result['total_wall_s']:.0f} s. Machine:"
        f" {result['machine'].get('cpu_model', result['machine']['processor'])},"
        f" {result['machine']['cpus']} CPUs, load average before/after"
        f" {result['machine']['load_avg'][0]:.1f}/{result['machine']['load_avg_after'][0]:.1f}"
        " (other work on the machine inflates wall times; ratios are measured side by side).",
        "",
    ]
    for sec in sections.values():
        md += list(sec.get("markdown", []))
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bench.json").write_text(json.dumps(result, indent=1, default=str))
    (a.out / "bench.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
