"""Which files this test process holds open (Linux: /proc/self/fd), to show a reader was closed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def descriptors_open_on(path: Path) -> int:
    """How many of this process's file descriptors point at `path`."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
    return count
