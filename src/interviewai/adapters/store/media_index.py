"""MediaIndex on SQLAlchemy Core: a conditional insert is the single-flight claim, across processes."""

from __future__ import annotations

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from interviewai.adapters.store.guard import DEFAULT_DEADLINE_S, GuardedEngine
from interviewai.adapters.store.schema import media
from interviewai.domain.media_index import Claim, MediaEntry, MediaState


def _entry(row: RowMapping) -> MediaEntry:
    return MediaEntry(
        key=row["key"],
        kind=row["kind"],
        state=MediaState(row["state"]),
        owner=row["owner"],
        claimed_at=row["claimed_at"],
        provider_ref=row["provider_ref"],
        blob_name=row["blob_name"],
        meta=row["meta"],
        error=row["error"],
        attempts=row["attempts"],
        updated_at=row["updated_at"],
    )


def _pending_of(key: str, owner: str) -> ColumnElement[bool]:
    """The row of `key` while `owner` still holds it pending: the guard of every owner's transition."""
    return and_(media.c.key == key, media.c.owner == owner, media.c.state == MediaState.PENDING.value)


class SqlMediaIndex:
    """MediaIndex on the SQL `media` table; a claim is a conditional insert or update, so the database is the
    single-flight lock across processes."""

    def __init__(self, engine: AsyncEngine, *, deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self._db = GuardedEngine(engine, deadline_s)

    async def get(self, key: str) -> MediaEntry | None:
        """One SELECT by key; None when there is no row."""
        async with self._db.connect() as connection:
            row = (await connection.execute(select(media).where(media.c.key == key))).mappings().first()
            return _entry(row) if row is not None else None

    async def claim(self, key: str, kind: str, owner: str, now: float, stale_after_s: float) -> Claim:
        """Insert a pending row owned by `owner`; when the key exists, take it over only if it failed or its
        claim went stale (compare-and-set)."""
        try:
            async with self._db.begin() as connection:
                await connection.execute(
                    insert(media).values(
                        key=key,
                        kind=kind,
                        state=MediaState.PENDING.value,
                        owner=owner,
                        claimed_at=now,
                        attempts=1,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass
        else:
            entry = await self.get(key)
            assert entry is not None
            return Claim(owned=True, entry=entry)
        # Someone has the key. Take it over only if it failed or its owner stopped beating; the
        # WHERE clause makes the takeover itself a compare-and-set, so two takers cannot both win.
        takeable = or_(
            media.c.state == MediaState.FAILED.value,
            and_(media.c.state == MediaState.PENDING.value, media.c.claimed_at < now - stale_after_s),
        )
        async with self._db.begin() as connection:
            result = await connection.execute(
                update(media)
                .where(and_(media.c.key == key, takeable))
                .values(
                    state=MediaState.PENDING.value,
                    owner=owner,
                    claimed_at=now,
                    error=None,
                    attempts=media.c.attempts + 1,
                    updated_at=now,
                )
            )
            taken = result.rowcount == 1
        entry = await self.get(key)
        if entry is None:  # released between our insert and read: try once more from the start
            return await self.claim(key, kind, owner, now, stale_after_s)
        return Claim(owned=taken, entry=entry)

    async def heartbeat(self, key: str, owner: str, now: float) -> bool:
        """Move `claimed_at` of `owner`'s pending claim to `now`; False when it is no longer `owner`'s."""
        async with self._db.begin() as connection:
            result = await connection.execute(
                update(media).where(_pending_of(key, owner)).values(claimed_at=now, updated_at=now)
            )
            return result.rowcount == 1

    async def take_over(self, key: str, gone_owner: str, owner: str, now: float) -> bool:
        """Compare-and-set on (key, gone_owner, pending): of several takers one wins; attempts goes up by
        one."""
        # Compare-and-set on (owner, pending): of several takers one wins, and a claim that finished
        # meanwhile (ready or failed) or moved to another owner is left alone.
        async with self._db.begin() as connection:
            result = await connection.execute(
                update(media)
                .where(_pending_of(key, gone_owner))
                .values(
                    owner=owner, claimed_at=now, error=None, attempts=media.c.attempts + 1, updated_at=now
                )
            )
            return bool(result.rowcount == 1)

    async def record_provider_ref(self, key: str, owner: str, provider_ref: str | None, now: float) -> None:
        """Store the job id on `owner`'s pending claim (and refresh its heartbeat); nothing happens if the
        claim is no longer `owner`'s."""
        async with self._db.begin() as connection:
            await connection.execute(
                update(media)
                .where(_pending_of(key, owner))
                .values(provider_ref=provider_ref, claimed_at=now, updated_at=now)
            )

    async def mark_ready(self, key: str, kind: str, blob_name: str, meta: str, now: float) -> None:
        """Update the row to ready, or insert it ready when nobody claimed the key."""
        values = {
            "state": MediaState.READY.value,
            "blob_name": blob_name,
            "meta": meta,
            "error": None,
            "updated_at": now,
        }
        async with self._db.begin() as connection:
            result = await connection.execute(update(media).where(media.c.key == key).values(**values))
            if result.rowcount == 1:
                return
        try:
            async with self._db.begin() as connection:
                await connection.execute(
                    insert(media).values(key=key, kind=kind, attempts=1, created_at=now, **values)
                )
        except IntegrityError:
            # Inserted by someone else meanwhile: theirs is the same content under the same key.
            async with self._db.begin() as connection:
                await connection.execute(update(media).where(media.c.key == key).values(**values))

    async def mark_failed(self, key: str, owner: str, error: str, now: float) -> None:
        """Mark `owner`'s pending claim failed (the error cut to 2000 characters); anything else is left
        alone."""
        async with self._db.begin() as connection:
            await connection.execute(
                update(media)
                .where(_pending_of(key, owner))
                .values(state=MediaState.FAILED.value, error=error[:2000], updated_at=now)
            )

    async def release(self, key: str, owner: str) -> None:
        """Delete `owner`'s pending row, so the next claim starts afresh."""
        async with self._db.begin() as connection:
            await connection.execute(delete(media).where(_pending_of(key, owner)))

    async def invalidate(self, key: str, reason: str, now: float) -> None:
        """Mark a ready row failed with `reason`, keeping its provider_ref; rows in other states are left
        alone."""
        async with self._db.begin() as connection:
            await connection.execute(
                update(media)
                .where(and_(media.c.key == key, media.c.state == MediaState.READY.value))
                .values(state=MediaState.FAILED.value, error=reason, updated_at=now)
            )
