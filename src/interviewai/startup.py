"""Start-up checks of the outside world (data directories, database, Redis), each failure one clear line.

`interviewai serve` runs them before binding; the container opens the same things through the same
functions, so a failure there reads the same way.
"""

from __future__ import annotations

import asyncio
import errno
import os
import tempfile
from pathlib import Path

from sqlalchemy.exc import ArgumentError, DBAPIError, InvalidRequestError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine

from interviewai.adapters.store.database import create_engine, migrate
from interviewai.deadlines import deadline
from interviewai.redaction import mask_url
from interviewai.settings import Settings, SettingsError

# How long start-up waits for the database or Redis to answer before giving up on it.
CONNECT_DEADLINE_S = 10.0


class StartupFailure(SettingsError):
    """Something the settings point at cannot be used; the message names the setting and the cause."""

    def __init__(self, setting: str, cause: str) -> None:
        super().__init__(f"Cannot start: {setting}: {cause}")
        self.setting = setting


def _cause(error: BaseException) -> str:
    """The first line of the most specific error (the driver's, not SQLAlchemy's wrapper)."""
    inner = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    link: BaseException | None = inner
    while link is not None:
        if isinstance(link, ConnectionRefusedError) or getattr(link, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        link = link.__cause__ or link.__context__
    if "Connection refused" in str(inner) or str(inner).startswith(f"Error {errno.ECONNREFUSED} "):
        return "connection refused"
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    return text


def check_directories(settings: Settings) -> None:
    """DATA_DIR (and MEDIA_DIR, MODEL_DIR under it unless set) exist or can be made, and can be written."""
    directories = [("DATA_DIR", settings.data_dir)]
    if settings.blob_store == "files":
        directories.append(("MEDIA_DIR" if settings.media_dir else "DATA_DIR", settings.resolved_media_dir))
    directories.append(("MODEL_DIR" if settings.model_dir else "DATA_DIR", settings.resolved_model_dir))
    for setting, directory in directories:
        _check_writable(setting, Path(directory))


def _check_writable(setting: str, directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check-"):
            pass
    except NotADirectoryError:
        raise StartupFailure(setting, f"{directory} is not a directory (a file is in the way)") from None
    except OSError as error:
        raise StartupFailure(setting, f"cannot write to {directory}: {error.strerror or error}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StartupFailure(setting, f"cannot write to {directory}")


async def open_database(settings: Settings) -> AsyncEngine:
    """The engine, connected and migrated; StartupFailure (DATABASE_URL) when the URL cannot be used."""
    url = settings.resolved_database_url
    shown = mask_url(url)
    try:
        engine = create_engine(url, timeout_s=settings.database_timeout_s)
    except (ArgumentError, NoSuchModuleError, InvalidRequestError, ImportError) as error:
        raise StartupFailure("DATABASE_URL", f"driver not available for {shown}: {_cause(error)}") from None
    except OSError as error:
        raise StartupFailure("DATABASE_URL", f"cannot create {shown}: {_cause(error)}") from None
    try:
        async with deadline(CONNECT_DEADLINE_S):
            await migrate(engine)
    except (asyncio.TimeoutError, TimeoutError):
        await engine.dispose()
        raise StartupFailure("DATABASE_URL", f"{shown} did not answer in {CONNECT_DEADLINE_S:g} s") from None
    except (DBAPIError, OSError, InvalidRequestError, ImportError) as error:
        await engine.dispose()
        raise StartupFailure("DATABASE_URL", f"cannot use {shown}: {_cause(error)}") from None
    return engine


async def check_redis(setting: str, url: str) -> None:
    """Redis at `url` answers a PING, else StartupFailure naming `setting`."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_connect_timeout=CONNECT_DEADLINE_S, socket_timeout=CONNECT_DEADLINE_S)
    try:
        async with deadline(CONNECT_DEADLINE_S):
            await client.ping()
    except (RedisError, OSError, asyncio.TimeoutError, ValueError) as error:
        raise StartupFailure(setting, f"cannot reach {mask_url(url)}: {_cause(error)}") from None
    finally:
        await client.aclose()


async def check_outside_world(settings: Settings) -> None:
    """Everything start-up needs beyond the settings themselves, checked the way the container opens it."""
    check_directories(settings)
    engine = await open_database(settings)
    await engine.dispose()
    if settings.redis_url:
        await check_redis("REDIS_URL", settings.redis_url)
    if settings.broker_url:
        await check_redis("BROKER_URL", settings.broker_url)
