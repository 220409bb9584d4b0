"""Custom question banks kept by the service: the uploaded document and its version."""

from __future__ import annotations

from dataclasses import dataclass

from interviewai.domain.errors import DomainError


@dataclass(frozen=True)
class StoredBank:
    """One uploaded bank as stored: the document as sent, its format, its version (1, then + 1 per
    replacement) and its epoch-second times."""

    id: str
    version: int
    name: str
    format: str
    """`yaml` or `json`: how `content` is written."""
    content: str
    created_at: float
    updated_at: float


class BankNotFound(DomainError):
    """No custom bank has that id (HTTP 404)."""

    code = "bank_not_found"


class BankExists(DomainError):
    """A create named a bank id that exists already; replacing a bank is a PUT (HTTP 409)."""

    code = "bank_exists"


class BankInUse(DomainError):
    """Active sessions were started from this bank; it can be replaced but not deleted."""

    code = "bank_in_use"


class InvalidBankUpload(DomainError):
    """The uploaded document is not a valid bank; `problems` lists each with its line."""

    code = "invalid_bank"

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems
