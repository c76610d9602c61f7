"""Benchmarks: `python -m evalcliff.dev.bench` (or `make bench`) writes reports/bench.{json,md}."""
