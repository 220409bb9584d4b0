"""The command line: --version, help, and `interviewai doctor` finding what is broken."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from interviewai import __version__
from interviewai.cli import main
from interviewai.simulators.did import DidSimulator
from live_server import free_port
from test_redis_worker import did_factory  # noqa: F401


@pytest.fixture
def environment(tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean environment on temporary directories (and no .env from the developer's checkout)."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DATA_DIR": str(tmp_path / "data"),
        "MODEL_DIR": str(model_dir),
        "TTS_ENGINES": "piper",
        "DID_API_KEY": "",
        "AVATAR_MODE": "",
        "DATABASE_URL": "",
        "BROKER_URL": "",
        "REDIS_URL": "",
        "LLM_API_URL": "",
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def rows(printed: str) -> dict[str, tuple[str, str]]:
    """check -> (status, rest of the line), from doctor's table."""
    table: dict[str, tuple[str, str]] = {}
    for line in printed.splitlines()[2:]:
        for status in ("OK", "WARN", "FAIL", "SKIP"):
            marker = f"  {status}  "
            if marker in line:
                check, rest = line.split(marker, 1)
                table[check.strip()] = (status, rest)
                break
    return table


def test_version_and_bare_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"interviewai {__version__}"
    assert main([]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("usage: interviewai")
    for command in ("serve", "worker", "warm-cache", "doctor"):
        assert command in printed


def test_doctor_reports_a_broken_database_and_a_missing_key(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("DATABASE_URL", f"postgresql+asyncpg://interviewai@127.0.0.1:{free_port()}/nothing")
    assert main(["doctor"]) == 1
    printed = capsys.readouterr().out
    table = rows(printed)
    status, detail = table["database"]
    assert status == "FAIL" and "connection refused" in detail and "DATABASE_URL" in detail
    status, detail = table["D-ID video"]
    assert status == "WARN" and "DID_API_KEY is empty" in detail
    assert table["configuration"][0] == "OK"
    assert table["directories"][0] == "OK"
    assert table["offline voice"][0] == "OK" and table["embedding model"][0] == "OK"
    assert table["Edge voice"][0] == "SKIP"
    assert "1 problem(s) to fix." in printed


def test_doctor_refuses_video_without_a_key(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("AVATAR_MODE", "video")
    assert main(["doctor"]) == 1
    status, detail = rows(capsys.readouterr().out)["configuration"]
    assert status == "FAIL" and "DID_API_KEY" in detail


def test_doctor_checks_the_d_id_key_and_a_healthy_setup(
    environment: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    did_factory: Callable[..., DidSimulator],
) -> None:
    did = did_factory()
    environment.setenv("DID_API_URL", did.url)
    environment.setenv("DID_API_KEY", "wrong:key")
    assert main(["doctor"]) == 1
    status, detail = rows(capsys.readouterr().out)["D-ID video"]
    assert status == "FAIL" and "auth" in detail and "DID_API_KEY" in detail

    environment.setenv("DID_API_KEY", did.api_key)
    assert main(["doctor"]) == 0
    printed = capsys.readouterr().out
    table = rows(printed)
    assert table["D-ID video"][0] == "OK" and "credits left" in table["D-ID video"][1]
    assert table["database"][0] == "OK"
    assert "Nothing to fix." in printed
