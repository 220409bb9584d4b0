"""The background jobs: one frozen dataclass of arguments per job, and `JOBS`, every job by its name.

A job's `name` is its task name on the broker and its fields are the message's keyword arguments, so renaming
either strands the jobs a running release has queued. Each job is run by one service, which registers its
handler with the `JobQueue` when it is built (the API and `interviewai worker` build the same container):

    prepare_session_media  PrepareSession  InterviewService._prepare_session_media  (services/interview.py)
    evaluate_answer        EvaluateAnswer  EvaluationService._evaluate_job          (services/evaluation.py)
    render_clip            RenderClip      AvatarService._render_job                (services/video.py)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Protocol


class Job(Protocol):
    """The arguments of one job; the class names the job (fields: str, int, float or bool, for the wire)."""

    name: ClassVar[str]


@dataclass(frozen=True)
class PrepareSession:
    """Look-ahead for a new session: speak each of its questions in order and queue their clips."""

    name: ClassVar[str] = "prepare_session_media"
    session_id: str


@dataclass(frozen=True)
class EvaluateAnswer:
    """Judge the answer at `position` if its text still hashes to `answer_sha` (else a newer job has it)."""

    name: ClassVar[str] = "evaluate_answer"
    session_id: str
    position: int
    answer_sha: str


@dataclass(frozen=True)
class RenderClip:
    """Render the clip stored under `key` from exactly the audio stored under `audio_key`."""

    name: ClassVar[str] = "render_clip"
    text: str
    key: str
    audio_key: str


JOBS: Mapping[str, type[Job]] = MappingProxyType(
    {job.name: job for job in (PrepareSession, EvaluateAnswer, RenderClip)}
)
"""Every job the services queue, by name: a worker must have a handler registered for each."""
