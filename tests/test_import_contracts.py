"""The layering contracts in pyproject.toml: kept by src, broken by a fixture tree that breaks each on purpose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "data" / "layering"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"][
        "importlinter"
    ]
    return config


def _lint_imports(
    config: Path, cwd: Path, pythonpath: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # A wide console, so that rich does not wrap a contract's name away from its KEPT/BROKEN.
    env = {**os.environ, "COLUMNS": "400"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _toml(config: dict[str, Any]) -> str:
    """The [tool.importlinter] tables back as TOML (strings, lists and booleans only, which JSON spells alike)."""
    settings = {key: value for key, value in config.items() if key != "contracts"}
    lines = ["[tool.importlinter]", *(f"{key} = {json.dumps(value)}" for key, value in settings.items())]
    for contract in config["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in contract.items()]
    return "\n".join(lines) + "\n"


def _renamed(value: Any, package: str) -> Any:
    if isinstance(value, str):
        return value.replace("interviewai", package)
    if isinstance(value, list):
        return [_renamed(item, package) for item in value]
    return value


def test_src_keeps_every_contract() -> None:
    result = _lint_imports(ROOT / "pyproject.toml", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    contracts = _contracts()["contracts"]
    assert len(contracts) == 6
    for contract in contracts:
        assert f"{contract['name']} KEPT" in result.stdout, result.stdout


def test_a_tree_that_breaks_each_rule_fails_each_contract(tmp_path: Path) -> None:
    """The project's own contracts, pointed at a package of the same shape whose files each break one."""
    config = _contracts()
    config["root_package"] = "layered"
    for contract in config["contracts"]:
        contract.pop("ignore_imports", None)  # the exceptions name interviewai's modules
        for key, value in list(contract.items()):
            contract[key] = _renamed(value, "layered")
    (tmp_path / "pyproject.toml").write_text(_toml(config), "utf-8")

    result = _lint_imports(tmp_path / "pyproject.toml", tmp_path, pythonpath=FIXTURE)

    assert result.returncode == 1, result.stdout + result.stderr
    broken = {
        contract["id"] for contract in config["contracts"] if f"{contract['name']} BROKEN" in result.stdout
    }
    assert broken == {c["id"] for c in config["contracts"]}, result.stdout
    # The report names the offending import, so a reader knows what to move.
    assert "layered.domain.model -> layered.services.use_case" in result.stdout
    assert "layered.services.use_case -> layered.simulators.fake" in result.stdout
