"""Suites: YAML specs of slices, deterministic item generators, and the item schema."""
