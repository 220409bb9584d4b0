"""BlobStore on a local directory: atomic writes (temp file + rename), names confined to the root."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

from interviewai.domain.errors import UnsafeBlobName

__all__ = ["FileBlobStore", "UnsafeBlobName", "check_blob_name"]

# Names are produced by the server ("audio/<sha256>.mp3"), never taken raw from a request.
_SAFE_NAME = re.compile(r"^[a-z0-9_-]+(/[A-Za-z0-9_-]+)*\.[a-z0-9]+$")


def check_blob_name(name: str) -> str:
    """`name` if it is a safe relative blob name (no traversal, no absolute path); else UnsafeBlobName."""
    if not _SAFE_NAME.match(name):
        raise UnsafeBlobName(name)
    return name


class FileBlobStore:
    """BlobStore on a local directory: one file per blob under `root`, written to a temp name, fsynced and
    renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_for(self, name: str) -> Path:
        """The file behind `name`; raises UnsafeBlobName for anything that could leave the root."""
        path = (self.root / check_blob_name(name)).resolve()
        if self.root not in path.parents:
            raise UnsafeBlobName(name)
        return path

    async def put(self, name: str, data: bytes) -> None:
        """Write to a temp file beside the target, fsync and rename (in a thread); UnsafeBlobName for a name
        that leaves the root."""
        await asyncio.to_thread(self._write, self.path_for(name), data)

    async def get(self, name: str) -> bytes | None:
        """Read the whole file in a thread; None when it does not exist."""
        path = self.path_for(name)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def exists(self, name: str) -> bool:
        """True when the file exists (checked in a thread)."""
        return await asyncio.to_thread(self.path_for(name).is_file)

    async def size(self, name: str) -> int | None:
        """The file's size from a stat in a thread; None when it does not exist."""
        path = self.path_for(name)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None

    async def delete(self, name: str) -> None:
        """Unlink the file in a thread; a missing file is not an error."""
        await asyncio.to_thread(self.path_for(name).unlink, missing_ok=True)

    async def names(self, prefix: str) -> list[str]:
        """Names (relative to the root, "/"-separated) of the files under `prefix`, temp files of unfinished
        writes left out."""
        folder = (self.root / prefix).resolve()
        if folder != self.root and self.root not in folder.parents:
            raise UnsafeBlobName(prefix)

        def walk() -> list[str]:
            if not folder.is_dir():
                return []
            found = (p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))
            return [p.relative_to(self.root).as_posix() for p in found]

        return await asyncio.to_thread(walk)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(handle, "wb") as temp_file:
                temp_file.write(data)
                temp_file.flush()
                os.fsync(temp_file.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
