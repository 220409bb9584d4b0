"""Every store call under a deadline, with every database failure turned into StoreUnavailable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiosqlite
from sqlalchemy import Select
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from interviewai.deadlines import deadline
from interviewai.domain.errors import PROGRAMMING_ERRORS, StoreUnavailable
from interviewai.observability.tracing import span

logger = logging.getLogger(__name__)
# One store call is a few statements, each bounded by the engine's own timeouts; this bounds the whole.
DEFAULT_DEADLINE_S = 10.0


class GuardedEngine:
    """The engine's `begin()` and `connect()`, bounded by `deadline_s` and translated to domain errors.

    IntegrityError passes through: it is how a conditional insert says "someone else has it".
    """

    def __init__(self, engine: AsyncEngine, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self.engine = engine
        self.deadline_s = deadline_s
        # Statement -> (its SQL, its parameter names in order, its column names), compiled once.
        self._compiled: dict[Select[Any], tuple[str, tuple[str, ...], tuple[str, ...]]] = {}

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction (committed on exit), under the deadline; database trouble raises
        StoreUnavailable."""
        async with self._guarded(), self.engine.begin() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads (nothing committed), under the deadline; database trouble raises
        StoreUnavailable."""
        async with self._guarded(), self.engine.connect() as connection:
            yield connection

    async def first(self, statement: Select[Any], params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The first row of `statement` (with its bound parameters named in `params`) by column name.

        On SQLite this is one call on the driver's thread (aiosqlite's `execute_fetchall`) instead of the
        cursor, execute, fetch, close and rollback hops a statement through SQLAlchemy costs: each hop
        hands the GIL to that thread and back, and on a hot read they were most of the request. The
        statement still runs every time (another process may have written), and the pool gives the
        connection back without a rollback when SQLite says no transaction is open (database.py).
        """
        if self.engine.dialect.name != "sqlite":
            async with self.connect() as connection:
                row = (await connection.execute(statement, dict(params))).mappings().first()
                return dict(row) if row is not None else None
        sql, names, columns = self._compile(statement)
        async with self.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert isinstance(driver, aiosqlite.Connection)
            with span("SELECT", **{"db.system": "sqlite", "db.statement": sql}):
                try:
                    rows = await driver.execute_fetchall(sql, [params[n] for n in names])
                except sqlite3.Error as error:
                    raise self._unavailable(_describe(error), error) from error
        first = next(iter(rows), None)
        return dict(zip(columns, first, strict=True)) if first is not None else None

    def _compile(self, statement: Select[Any]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        found = self._compiled.get(statement)
        if found is None:
            compiled = statement.compile(dialect=self.engine.dialect)
            found = (
                compiled.string,
                tuple(compiled.positiontup or ()),
                tuple(str(column.key) for column in statement.selected_columns),
            )
            self._compiled[statement] = found
        return found

    async def ping(self) -> None:
        """A trivial query: raises StoreUnavailable unless the database answers within the deadline."""
        async with self.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    @contextlib.asynccontextmanager
    async def _guarded(self) -> AsyncIterator[None]:
        try:
            async with deadline(self.deadline_s):
                yield
        except IntegrityError:
            raise
        except PROGRAMMING_ERRORS:
            raise  # a bug of ours (a KeyError such as NoSuchColumnError included) is not an outage
        except StatementError as error:
            if isinstance(error.orig, PROGRAMMING_ERRORS) and not isinstance(error, DBAPIError):
                raise error.orig from error  # a value of ours SQLAlchemy could not bind: a bug
            raise self._unavailable(_describe(error), error) from error
        except (asyncio.TimeoutError, TimeoutError) as error:
            raise self._unavailable(f"no answer within {self.deadline_s:g} s", error) from error
        except (DBAPIError, SQLAlchemyError, OSError) as error:
            raise self._unavailable(_describe(error), error) from error

    def _unavailable(self, cause: str, error: BaseException) -> StoreUnavailable:
        backend = self.engine.dialect.name
        logger.warning("the %s store failed: %s (%s)", backend, cause, type(error).__name__)
        return StoreUnavailable(f"The {backend} store did not answer: {cause}.")


def _describe(error: BaseException) -> str:
    inner = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = str(inner).strip()
    return text.splitlines()[0][:200] if text else type(inner).__name__
