"""Async database engine creation and Alembic migrations at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolResetState

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number, the same in every process: PostgreSQL's advisory lock that serializes migrations.
_MIGRATION_LOCK_ID = 7_204_311_001


def create_engine(database_url: str, *, timeout_s: float = 5.0) -> AsyncEngine:
    """An async engine whose statements, connects and pool checkouts each give up after `timeout_s`.

    SQLite files get WAL, foreign keys and a busy timeout of `timeout_s`, so two processes can share one
    and a writer that holds the lock too long costs the others a clear error rather than a hang.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # A connection goes back to the pool rolled back only when a transaction is open (below): every
        # rollback is a trip to aiosqlite's thread, and after a plain read SQLite has nothing to undo.
        engine = create_async_engine(
            url, connect_args={"timeout": timeout_s}, pool_timeout=timeout_s, pool_reset_on_return=None
        )
        busy_ms = max(1, int(timeout_s * 1000))

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "reset")
        def _rollback_if_open(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
            # `in_transaction` is SQLite's own autocommit flag, readable from any thread.
            if (
                state.asyncio_safe
                and not state.terminate_only
                and dbapi_connection.driver_connection.in_transaction
            ):
                dbapi_connection.rollback()

        return engine
    connect_args = (
        {"timeout": timeout_s, "command_timeout": timeout_s} if url.get_driver_name() == "asyncpg" else {}
    )
    return create_async_engine(url, pool_pre_ping=True, pool_timeout=timeout_s, connect_args=connect_args)


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (idempotent; safe on every start).

    Instances starting at once take turns: the first migrates, the others find the schema current.
    Each migration run is one transaction on both backends, so a crash never leaves half a schema.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            # The driver opens no transaction for DDL by itself; take the write lock up front (waiting
            # up to busy_timeout for another process's migration) so the checks Alembic makes hold.
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        await connection.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))
