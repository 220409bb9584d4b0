"""What the D-ID simulator remembers: requests received, clips, credits."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from interviewai.simulators.did.spec import DidFault, SimulatedPresenter


@dataclasses.dataclass(frozen=True)
class RecordedFile:
    """A multipart file part as received."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclasses.dataclass
class RecordedRequest:
    """One request the simulator received; ``status`` is None while it is still being answered (or
    never will be: the ``timeout`` fault)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any | None
    fault: DidFault
    files: dict[str, RecordedFile] = dataclasses.field(default_factory=dict)
    status: int | None = None


@dataclasses.dataclass
class Credits:
    """The account's credits; a clip is charged when created and refunded when it fails."""

    total: float
    remaining: float
    modified_at: float = dataclasses.field(default_factory=time.time)

    def set(self, remaining: float, total: float | None = None) -> None:
        """Set the credits (and the allowance when `total` is given)."""
        self.remaining = remaining
        if total is not None:
            self.total = total
        self.modified_at = time.time()

    def charge(self, cost: float, at: float) -> None:
        """Take a clip's cost at epoch second `at` (its creation)."""
        self.remaining -= cost
        self.modified_at = at

    def refund(self, cost: float) -> None:
        """Give a failed clip's cost back (D-ID does not bill errors)."""
        self.remaining += cost  # "you are not billed for errors; credits are returned"
        self.modified_at = time.time()


@dataclasses.dataclass
class Clip:
    """A clip as the simulator keeps it, from ``POST /clips`` to its end (or ``DELETE``)."""

    id: str
    presenter: SimulatedPresenter
    driver_id: str
    script: dict[str, Any]
    config: dict[str, Any]
    result_format: str
    max_size: int | None
    cost: float
    created_at: float
    extras: dict[str, Any]
    modified_at: float = 0.0
    outcome: DidFault = DidFault.NONE
    status: str = "created"
    started_at: float | None = None
    completed_at: float | None = None
    duration_s: float | None = None
    audio_key: str | None = None
    result_key: str | None = None
    metadata: dict[str, Any] | None = None
    error: dict[str, str] | None = None

    @property
    def terminal(self) -> bool:
        """True once the clip is done, in error or rejected."""
        return self.status in ("done", "error", "rejected")


class ClipFailure(Exception):
    """How a clip ends ``error`` or ``rejected`` (D-ID's error kind and description)."""

    def __init__(self, kind: str, description: str) -> None:
        super().__init__(description)
        self.kind = kind
        self.description = description
