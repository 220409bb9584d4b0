"""What the wheel ships for its users: the `py.typed` marker (PEP 561), so mypy reads interviewai's types."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "interviewai"


def test_the_package_ships_its_py_typed_marker() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    shipped = project["tool"]["setuptools"]["package-data"]["interviewai"]
    assert "py.typed" in shipped, "setuptools puts only listed data files in the wheel"
    assert (PACKAGE / "py.typed").is_file()
