"""The wheel's package list (pyproject.toml) covers every package under evalcliff/."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_for_the_wheel() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = find_namespace_packages(
        str(ROOT), include=["evalcliff*"], exclude=["evalcliff.dev", "evalcliff.dev.*"]
    )
    listed = set(cfg["packages"])
    missing = sorted(set(found) - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert not [p for p in listed if p.startswith("evalcliff.dev")]
    assert cfg["package-dir"]["evalcliff._builtin_suites"] == "suites"


def test_builtin_suites_are_found_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalcliff.suites.spec import SUITES_DIR, resolve_suite_path

    monkeypatch.chdir(tmp_path)
    assert resolve_suite_path("tail") == SUITES_DIR / "tail.yaml"
    assert {p.stem for p in SUITES_DIR.glob("*.yaml")} >= {"smoke", "tail"}
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "tail.yaml").write_text("name: mine\n")
    assert resolve_suite_path("tail") == tmp_path / "suites" / "tail.yaml"  # ./suites first
