"""A real `python main.py` that cannot start says why in one line, exits non-zero, and never prints a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from live_server import REPO, free_port, server_process

SECRETS = {
    "DID_API_KEY": "did-key-sekrit-4242",
    "S3_SECRET_ACCESS_KEY": "s3-sekrit-9191",
}
DB_PASSWORD = "pg-pass-sekrit-7373"
REDIS_PASSWORD = "redis-pass-sekrit-5151"
ALL_SECRETS = [*SECRETS.values(), DB_PASSWORD, REDIS_PASSWORD]


def _run(tmp_path: Path, model_dir: Path, **env: str) -> tuple[int, str]:
    """Start the server the way a user does; it must give up on its own (well before the timeout)."""
    environment = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "MODEL_DIR": str(model_dir),
        "PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "TTS_ENGINES": "piper",
        "DID_API_KEY": "",
        "AVATAR_MODE": "",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "main.py"], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout + done.stderr


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"AVATAR_MODE": "video", "DID_API_KEY": ""}, "AVATAR_MODE"),
        ({"BLOB_STORE": "s3", "S3_ENDPOINT_URL": "", **SECRETS}, "BLOB_STORE"),
        ({"PORT": "not-a-port", **SECRETS}, "PORT"),
        ({"TTS_RATE": "fast", **SECRETS}, "TTS_RATE"),
    ],
    ids=["video-without-key", "s3-incomplete", "bad-port", "bad-rate"],
)
def test_invalid_settings_print_no_secret(
    tmp_path: Path, model_dir: Path, env: dict[str, str], setting: str
) -> None:
    env = {
        **env,
        "DATABASE_URL": f"postgresql+asyncpg://someone:{DB_PASSWORD}@127.0.0.1:5432/test",
        "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0",
    }
    code, output = _run(tmp_path, model_dir, **env)
    assert code != 0
    line = _one_line(output)
    assert setting in line
    for secret in ALL_SECRETS:
        assert secret not in output


def _failure_cases(tmp_path: Path) -> dict[str, tuple[dict[str, str], str, str]]:
    """case -> (environment, the setting the line must name, a word of the cause it must give)."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    binary = tmp_path / "bank.yaml"
    binary.write_bytes(bytes(range(256)) * 8)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("- id: 1\n  type: introduction\n  text: Où êtes-vous né ?\n".encode("latin-1"))
    pg = f"postgresql+asyncpg://postgres:{DB_PASSWORD}@127.0.0.1"
    return {
        "refused-database": ({"DATABASE_URL": f"{pg}:1/test"}, "DATABASE_URL", "refused"),
        "misnamed-database": (
            {"DATABASE_URL": f"{pg}:5432/no_such_database_here"},
            "DATABASE_URL",
            "does not exist",
        ),
        "unknown-role": (
            {"DATABASE_URL": f"postgresql+asyncpg://no_such_role:{DB_PASSWORD}@127.0.0.1:5432/test"},
            "DATABASE_URL",
            "role",
        ),
        "missing-driver": (
            {"DATABASE_URL": f"postgresql+psycopg2://postgres:{DB_PASSWORD}@127.0.0.1:5432/test"},
            "DATABASE_URL",
            "driver",
        ),
        "sync-driver": ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL", "driver"),
        "unwritable-data-dir": ({"DATA_DIR": str(a_file / "data")}, "DATA_DIR", "not a directory"),
        "binary-bank": ({"QUESTION_BANK": str(binary)}, "QUESTION_BANK", "binary"),
        "latin1-bank": ({"QUESTION_BANK": str(latin1)}, "QUESTION_BANK", "utf-8"),
        "unreachable-redis": (
            {"REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0"},
            "REDIS_URL",
            "refused",
        ),
        "unreachable-broker": (
            {"BROKER_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:1/0"},
            "BROKER_URL",
            "refused",
        ),
    }


CASES = [
    "refused-database",
    "misnamed-database",
    "unknown-role",
    "missing-driver",
    "sync-driver",
    "unwritable-data-dir",
    "binary-bank",
    "latin1-bank",
    "unreachable-redis",
    "unreachable-broker",
]


@pytest.mark.parametrize("case", CASES)
def test_a_startup_failure_is_one_line_naming_the_setting(tmp_path: Path, model_dir: Path, case: str) -> None:
    env, setting, cause = _failure_cases(tmp_path)[case]
    if "5432" in env.get("DATABASE_URL", ""):
        pytest.importorskip("asyncpg")
    code, output = _run(tmp_path, model_dir, **env)
    assert code != 0, output
    line = _one_line(output)
    assert setting in line and cause in line.lower(), line
    assert "Traceback" not in output
    for secret in ALL_SECRETS:
        assert secret not in output
    if "@" in env.get(setting, ""):
        assert "***@" in line, line


def test_a_server_that_starts_prints_no_secret(tmp_path: Path, model_dir: Path) -> None:
    env = {
        **SECRETS,
        "AVATAR_MODE": "audio_only",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
    }
    with server_process(tmp_path / "data", model_dir, **env):
        pass
    log = next(tmp_path.glob("server-*.log")).read_text()
    assert "Uvicorn running" in log or "Application startup complete" in log, log
    for secret in ALL_SECRETS:
        assert secret not in log
