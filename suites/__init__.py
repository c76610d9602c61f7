"""The built-in suites, installed as the package `evalcliff._builtin_suites`.

pyproject.toml maps that package to this directory and ships its `*.yaml` as package data, so
`evalcliff suites show tail` finds them from a wheel or an editable install, in any directory.
"""
