"""`.env.example` lists every setting of the Settings class, and nothing the class does not know."""

from __future__ import annotations

import re

from interviewai.settings import Settings
from live_server import REPO

ASSIGNMENT = re.compile(r"^\s*#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def test_env_example_lists_every_setting() -> None:
    listed = set(ASSIGNMENT.findall((REPO / ".env.example").read_text()))
    expected = {name.upper() for name in Settings.model_fields}
    missing = sorted(expected - listed)
    unknown = sorted(listed - expected)
    assert not missing, (
        f"settings missing from .env.example: {', '.join(missing)}; add each as NAME=<default> with a comment"
    )
    assert not unknown, f".env.example lists variables Settings does not read: {', '.join(unknown)}"
