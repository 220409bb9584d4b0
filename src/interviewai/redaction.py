"""Secrets never printed: URLs shown with their password masked."""

from __future__ import annotations

import re

# scheme://user:password@host -> scheme://user:***@host (also redis://:password@host).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:)[^@\s]*@")


def mask_url(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***`."""
    return _URL_PASSWORD.sub(lambda match: match.group("head") + "***@", text)
