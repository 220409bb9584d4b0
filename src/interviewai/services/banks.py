"""Custom question banks: validated uploads, versions, and the parsed bank a plan draws from."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from interviewai.domain.banks import BankNotFound, InvalidBankUpload, StoredBank
from interviewai.domain.plans import InvalidPlanOption
from interviewai.domain.ports import BankParser, BankStore
from interviewai.domain.questions import InvalidQuestionBank, QuestionBank, QuestionType
from interviewai.services.plans import ResolvedBank

BANK_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_PARSED_CACHE = 32


@dataclass(frozen=True)
class BankInfo:
    """A stored bank version and its parsed questions."""

    stored: StoredBank
    bank: QuestionBank


class BankService:
    """Checks every upload against the bank format (with the library's vocabulary) before storing it."""

    def __init__(
        self,
        store: BankStore,
        parser: BankParser,
        session_timeout: timedelta,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._parser = parser
        self._timeout = session_timeout
        self._clock = clock
        self._parsed: OrderedDict[tuple[str, int], QuestionBank] = OrderedDict()

    def validate(self, content: bytes, format: str) -> QuestionBank:
        """The parsed bank, or InvalidBankUpload listing every problem (the format, the library's vocabulary,
        and an introduction and a closing question a plan needs). `format` is "json", else the content is
        read as YAML."""
        try:
            bank = self._parser.parse(content, "the upload", json_format=format == "json")
        except InvalidQuestionBank as error:
            problems = [str(p) for p in error.problems] or [error.message]
            raise InvalidBankUpload(f"The bank has {len(problems)} problem(s).", problems) from None
        types = {q.type for q in bank.questions}
        missing = [t.value for t in (QuestionType.INTRODUCTION, QuestionType.CLOSING) if t not in types]
        if missing:
            problems = [
                f"questions: a plan opens and ends with these types; add at least one {t} question"
                for t in missing
            ]
            raise InvalidBankUpload(f"The bank has {len(problems)} problem(s).", problems)
        return bank

    async def put(self, bank_id: str, content: bytes, format: str) -> BankInfo:
        """Stores `content` as the next version of `bank_id` once it validates; InvalidBankUpload for a bad id
        or content. The content must be UTF-8."""
        if not BANK_ID.match(bank_id):
            raise InvalidBankUpload(
                "Invalid bank id.",
                [f"bank_id: {bank_id!r} must be 1-64 lowercase letters, digits, '-' or '_'"],
            )
        bank = self.validate(content, format)
        stored = await self._store.put(
            bank_id, bank.name or bank_id, format, content.decode("utf-8"), self._clock()
        )
        self._remember(stored, bank)
        return BankInfo(stored, bank)

    async def exists(self, bank_id: str) -> bool:
        """Whether `bank_id` is stored (its content is not parsed)."""
        return await self._store.get(bank_id) is not None

    async def list(self) -> list[BankInfo]:
        """Every stored bank at its current version; a version seen before is not parsed again."""
        return [BankInfo(stored, self._parse(stored)) for stored in await self._store.list()]

    async def get(self, bank_id: str) -> BankInfo:
        """The current version of `bank_id`; BankNotFound when there is none."""
        stored = await self._store.get(bank_id)
        if stored is None:
            raise BankNotFound(f"No bank with id {bank_id!r}.")
        return BankInfo(stored, self._parse(stored))

    async def delete(self, bank_id: str) -> None:
        """Deletes `bank_id`: BankInUse while a session active within the session timeout uses it,
        BankNotFound when there is none."""
        active_since = self._clock() - self._timeout.total_seconds()
        if not await self._store.delete(bank_id, active_since):
            raise BankNotFound(f"No bank with id {bank_id!r}.")

    async def resolve(self, bank_id: str) -> ResolvedBank:
        """For plans: the bank's current version; an unknown id is a bad option (422), not a 404."""
        stored = await self._store.get(bank_id)
        if stored is None:
            known = [b.id for b in await self._store.list()]
            raise InvalidPlanOption(
                "bank_id", f"unknown bank {bank_id!r}; allowed: {', '.join(known) or 'none uploaded'}", known
            )
        return ResolvedBank(self._parse(stored), stored.id, stored.version)

    def _parse(self, stored: StoredBank) -> QuestionBank:
        key = (stored.id, stored.version)
        bank = self._parsed.get(key)
        if bank is None:
            bank = self.validate(stored.content.encode("utf-8"), stored.format)
            self._remember(stored, bank)
        return bank

    def _remember(self, stored: StoredBank, bank: QuestionBank) -> None:
        self._parsed[(stored.id, stored.version)] = bank
        while len(self._parsed) > _PARSED_CACHE:
            self._parsed.popitem(last=False)
