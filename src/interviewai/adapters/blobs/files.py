"""BlobStore on a local directory: atomic writes (temp file + rename), names confined to the root, reads
streamed in chunks off the event loop."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from interviewai.domain.blobs import ByteRange, ByteSpan
from interviewai.domain.errors import UnsafeBlobName

__all__ = ["FileBlobStore", "FileRead", "check_blob_name"]

CHUNK_SIZE = 64 * 1024

# Names are produced by the server ("audio/<sha256>.mp3"), never taken raw from a request.
_SAFE_NAME = re.compile(r"^[a-z0-9_-]+(/[A-Za-z0-9_-]+)*\.[a-z0-9]+$")


def check_blob_name(name: str) -> str:
    """`name` if it is a safe relative blob name (no traversal, no absolute path); else UnsafeBlobName."""
    if not _SAFE_NAME.match(name):
        raise UnsafeBlobName(name)
    return name


class FileRead:
    """An open read of one file (or a byte range of it). The file is opened before the first byte is sent,
    so a blob replaced meanwhile (a rename) is still read whole as it was."""

    def __init__(self, fd: int, span: ByteSpan, chunk_size: int = CHUNK_SIZE) -> None:
        self.span = span
        self._fd = fd
        self._chunk_size = chunk_size
        self._closed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """The span's bytes, one positioned read per chunk in a worker thread; closes the file at the end."""
        position, end = self.span.first, self.span.last + 1
        try:
            while position < end and not self._closed:
                chunk = await asyncio.to_thread(
                    os.pread, self._fd, min(self._chunk_size, end - position), position
                )
                if not chunk:
                    return
                position += len(chunk)
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the file (safe to call twice; needed when a reader stops early)."""
        if not self._closed:
            self._closed = True
            os.close(self._fd)


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

    async def open(self, name: str, wanted: ByteRange | None = None) -> FileRead | None:
        """Open the file (in a thread) and check `wanted` against its size; None when it does not exist,
        UnsatisfiableRange with its size for a range with none of its bytes."""
        path = self.path_for(name)
        opened = await asyncio.to_thread(_open_regular_file, path)
        if opened is None:
            return None
        fd, size = opened
        try:
            span = ByteSpan.whole(size) if wanted is None else wanted.within(name, size)
        except BaseException:
            os.close(fd)
            raise
        return FileRead(fd, span)

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


def _open_regular_file(path: Path) -> tuple[int, int] | None:
    """(descriptor, size) of the regular file at `path`; None when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        return None
    return fd, info.st_size
