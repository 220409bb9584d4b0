"""BankStore on SQLAlchemy Core: custom banks as uploaded, one row per bank, its version counting replaces."""

from __future__ import annotations

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from interviewai.adapters.store.guard import DEFAULT_DEADLINE_S, GuardedEngine
from interviewai.adapters.store.schema import banks, sessions
from interviewai.domain.banks import BankInUse, StoredBank
from interviewai.domain.session import SessionState


def _bank(row: RowMapping) -> StoredBank:
    return StoredBank(
        id=row["id"],
        version=row["version"],
        name=row["name"],
        format=row["format"],
        content=row["content"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlBankStore:
    """BankStore on SQL (SQLite or PostgreSQL); every call has the store deadline and raises StoreUnavailable
    on database trouble."""

    def __init__(self, engine: AsyncEngine, *, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self._db = GuardedEngine(engine, deadline_s)

    async def list(self) -> list[StoredBank]:
        """One SELECT of every bank, ordered by id."""
        async with self._db.connect() as connection:
            rows = (await connection.execute(select(banks).order_by(banks.c.id))).mappings()
            return [_bank(row) for row in rows]

    async def get(self, bank_id: str) -> StoredBank | None:
        """One SELECT by id; None when there is none."""
        async with self._db.connect() as connection:
            row = (await connection.execute(select(banks).where(banks.c.id == bank_id))).mappings().first()
            return _bank(row) if row is not None else None

    async def put(self, bank_id: str, name: str, format: str, content: str, now: float) -> StoredBank:
        """Bump the version if the bank exists, else insert version 1, in one transaction, so two replaces at
        once each get their own version."""
        async with self._db.begin() as connection:
            # Bump first: two replaces at once each get their own version, and neither is lost silently.
            result = await connection.execute(
                update(banks)
                .where(banks.c.id == bank_id)
                .values(
                    version=banks.c.version + 1, name=name, format=format, content=content, updated_at=now
                )
            )
            if result.rowcount == 0:
                await connection.execute(
                    insert(banks).values(
                        id=bank_id,
                        version=1,
                        name=name,
                        format=format,
                        content=content,
                        created_at=now,
                        updated_at=now,
                    )
                )
            row = (await connection.execute(select(banks).where(banks.c.id == bank_id))).mappings().one()
            return _bank(row)

    async def delete(self, bank_id: str, active_since: float) -> bool:
        """In one transaction: BankInUse when an in-progress session active since `active_since` uses it, else
        delete; False when there was none."""
        async with self._db.begin() as connection:
            in_use = (
                await connection.execute(
                    select(func.count())
                    .select_from(sessions)
                    .where(
                        and_(
                            sessions.c.bank_id == bank_id,
                            sessions.c.state == SessionState.IN_PROGRESS.value,
                            sessions.c.updated_at >= active_since,
                        )
                    )
                )
            ).scalar_one()
            if in_use:
                raise BankInUse(
                    f"Bank {bank_id!r} is used by {in_use} active session(s); replace it (PUT) or delete it "
                    "once they have finished."
                )
            result = await connection.execute(delete(banks).where(banks.c.id == bank_id))
            return bool(result.rowcount)
