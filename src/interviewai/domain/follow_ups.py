"""Follow-up questions: the gaps that earn one, and the finite set of phrasings the rubric engine asks."""

from __future__ import annotations

import enum

from interviewai.domain.session import FollowUp


class Gap(str, enum.Enum):
    """A clear gap in an answer that one follow-up question can fill."""

    TOO_SHORT = "too_short"
    OFF_TOPIC = "off_topic"
    NO_RESULT = "no_result"


# One fixed phrasing per gap: a finite set, so look-ahead and warm-cache speak them before they are asked.
FOLLOW_UP_PHRASES: dict[Gap, str] = {
    Gap.TOO_SHORT: "Could you say a bit more about that, with one concrete example?",
    Gap.OFF_TOPIC: "Let's come back to the question I asked. How would you answer it, with one example?",
    Gap.NO_RESULT: "And how did it end? What was the result, and how did you know it had worked?",
}


def follow_up_for(gap: Gap) -> FollowUp:
    """The follow-up asked for `gap`, in its one fixed phrasing, not yet served."""
    return FollowUp(kind=gap.value, text=FOLLOW_UP_PHRASES[gap])


def all_follow_up_texts() -> list[str]:
    """Every phrasing a follow-up can have, so look-ahead and the warm cache can speak them all in advance."""
    return list(FOLLOW_UP_PHRASES.values())
