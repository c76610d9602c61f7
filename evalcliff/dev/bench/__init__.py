"""Benchmarks: `python -m evalcliff.bench` (or `make bench`) writes reports/bench.{json,md}."""
