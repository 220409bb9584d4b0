"""`deadline(seconds)`: asyncio.timeout on Python 3.11+, the async-timeout backport on 3.10."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    from asyncio import timeout as deadline
else:  # pragma: no cover - exercised only on Python 3.10
    from async_timeout import timeout as deadline

__all__ = ["deadline"]
