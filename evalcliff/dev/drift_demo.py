"""`make drift`: a simulated production history on the embedded default, ending in the trend
page.

The served weights silently change under one name, `prod`: weeks 1-3 serve fp16, weeks 4-6
q4, weeks 7-9 q2. Each variant is run once over the smoke suite (`--limit`, a seeded draw per
stratum), and its results are recorded weekly with dates, as a cron job would have recorded
them. Week 1 is pinned as the baseline; the drift review runs after every week.

    python -m evalcliff.dev.drift_demo [--out reports/drift-demo] [--limit 20] [--suite smoke]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

SCHEDULE = ["fp16"] * 3 + ["q4"] * 3 + ["q2"] * 3
START = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evalcliff.dev.drift_demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--out", type=Path, default=Path("reports/drift-demo"))
    ap.add_argument("--limit", type=int, default=20, help="items per stratum (smoke: 30 strata)")
    ap.add_argument("--suite", default="smoke")
    a = ap.parse_args(argv)

    from evalcliff.drift import drift_review, write_outputs
    from evalcliff.gate import Policy
    from evalcliff.history import HistoryStore
    from evalcliff.results import read_run

    runs_dir = a.out / "runs"
    paths: dict[str, Path] = {}
    for variant in dict.fromkeys(SCHEDULE):
        paths[variant] = runs_dir / f"{variant}.limit{a.limit}.parquet"
        cmd = [sys.executable, "-m", "evalcliff.cli.main", "run", variant, "--suite", a.suite,
               "--limit", str(a.limit), "--out", str(paths[variant])]  # fmt: skip
        print("$", " ".join(cmd[2:]), flush=True)
        # its own run caches (kept in --out, so a second `make drift` reuses the runs)
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
               "EVALCLIFF_CACHE": os.environ.get("EVALCLIFF_CACHE", str(a.out / "cache"))}
        if subprocess.run(cmd, env=env).returncode != 0:
            return 2
    db = a.out / "history.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    policy = Policy()
    print(f"\nweekly history in {db} (variant 'prod'; the served weights change silently)")
    with HistoryStore(db) as store:
        report = None
        for week, variant in enumerate(SCHEDULE, start=1):
            at = START + timedelta(weeks=week - 1)
            run_id = store.add(read_run(paths[variant]), variant="prod", at=at,
                               tags={"endpoint": "http://prod.internal/v1"})  # fmt: skip
            if week == 1:
                store.pin(run_id)
                print(f"week {week} {at:%Y-%m-%d} run {run_id}: pinned as the baseline "
                      f"(serving {variant})")  # fmt: skip
                continue
            report = drift_review(store, "prod", "prod", policy)
            worst = min(report.slices, key=lambda s: s.delta if s.delta is not None else 0.0)
            kinds = sorted({c.kind for c in report.changes})
            print(f"week {week} {at:%Y-%m-%d} run {run_id} (serving {variant}): "
                  f"{report.status.upper():<12} worst {worst.slice} "
                  f"{100 * (worst.delta or 0.0):+.1f} pts; changed vs baseline: "
                  f"{', '.join(kinds) or 'nothing'}", flush=True)  # fmt: skip
    assert report is not None
    out = write_outputs(report, a.out)
    print(f"\ndrift.json: {out['json']}\ntrend page: {out['html']}\nprometheus: {out['prom']}")
    print(f"same review from the CLI: evalcliff drift prod --baseline prod --db {db} "
          f"--out {a.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
