"""The npm tools of the contract tests, installed once from tests/npm's lockfile into a cache outside the repo."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

LOCKED = Path(__file__).resolve().parent / "npm"
CACHE = Path(os.environ.get("INTERVIEWAI_NPM_CACHE", Path.home() / ".cache" / "interviewai-npm"))
INSTALL_TIMEOUT_S = 600


def require_npm() -> str:
    """npm's path; skipped without npm, except under CI where a missing tool is a failure."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        message = "node and npm are not installed (apt-get install nodejs npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return npm


def npm_tools() -> Path:
    """The directory holding `node_modules/.bin`, installed with `npm ci` when the lockfile is new to it.

    Keyed by the lockfile's hash, so a changed lock gets a fresh install and an unchanged one costs nothing.
    """
    npm = require_npm()
    lock = (LOCKED / "package-lock.json").read_bytes()
    home = CACHE / hashlib.sha256(lock + (LOCKED / "package.json").read_bytes()).hexdigest()[:16]
    done = home / ".installed"
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".lock").open("w") as guard:
        # Two test processes may want the tools at once; one installs, the other waits for it.
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not done.exists():
            for name in ("package.json", "package-lock.json"):
                shutil.copyfile(LOCKED / name, home / name)
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=home,
                check=True,
                timeout=INSTALL_TIMEOUT_S,
            )
            done.touch()
    return home


def npm_bin(name: str) -> str:
    """The path of an executable installed by the test npm tools (node_modules/.bin/`name`)."""
    return str(npm_tools() / "node_modules" / ".bin" / name)
