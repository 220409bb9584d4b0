"""Byte ranges of blobs: what a reader asks for (`ByteRange`) and what an open read yields (`ByteSpan`)."""

from __future__ import annotations

from dataclasses import dataclass

from interviewai.domain.errors import UnsatisfiableRange


@dataclass(frozen=True)
class ByteRange:
    """Bytes asked for, as an HTTP `Range: bytes=` says them: `first`..`last` inclusive (`last` None: to the
    end, and a `last` past the end is clipped to it), or with `suffix` set, the last `suffix` bytes."""

    first: int = 0
    last: int | None = None
    suffix: int | None = None

    def __post_init__(self) -> None:
        if self.first < 0 or (self.last is not None and self.last < 0) or (self.suffix or 0) < 0:
            raise ValueError(f"negative byte position in {self}")

    @classmethod
    def tail(cls, length: int) -> ByteRange:
        """The last `length` bytes (`bytes=-length`)."""
        return cls(suffix=length)

    @property
    def is_inverted(self) -> bool:
        """`last` before `first` (`bytes=50-10`): no blob can satisfy it."""
        return self.suffix is None and self.last is not None and self.last < self.first

    def within(self, name: str, size: int) -> ByteSpan:
        """The span of a blob of `size` bytes this range covers; UnsatisfiableRange when it covers none."""
        if self.suffix is not None:
            if self.suffix == 0 or size == 0:
                raise UnsatisfiableRange(name, max(0, size - self.suffix), size=size)
            return ByteSpan(max(0, size - self.suffix), size - 1, size)
        if self.is_inverted or self.first >= size:
            raise UnsatisfiableRange(name, self.first, size=size)
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return ByteSpan(self.first, last, size)


@dataclass(frozen=True)
class ByteSpan:
    """The bytes an open read yields: `first`..`last` inclusive (as in HTTP Content-Range) of a blob of
    `size` bytes. A whole empty blob is the span 0..-1 of 0."""

    first: int
    last: int
    size: int

    @classmethod
    def whole(cls, size: int) -> ByteSpan:
        """Every byte of a blob of `size` bytes."""
        return cls(0, size - 1, size)

    @property
    def length(self) -> int:
        """How many bytes the span has (the response's Content-Length)."""
        return self.last - self.first + 1

    @property
    def is_partial(self) -> bool:
        """True when the span is less than the whole blob."""
        return self.length != self.size
