"""Answering by voice: a recording (uploaded whole or streamed live) becomes the answer's text.

A spoken answer goes through the same use case as a typed one (`InterviewService.answer`), with what was
heard kept beside the text: the words with their times and confidences, speaking metrics and, unless
KEEP_ANSWER_AUDIO=false, the recording in the blob store under ``answers/<session id>/``. Everything that
can refuse the answer (format, decoding, length, silence, no recogniser) happens before the session is
touched, so a refused recording leaves it exactly as it was.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass

from interviewai.domain.errors import NoSpeech, RecordingNotFound
from interviewai.domain.ports import AudioDecoder, BlobStore, SessionStore
from interviewai.domain.recognition import DecodedRecording, SpokenAnswer, Transcript, speech_metrics
from interviewai.domain.session import InterviewSession, SessionState
from interviewai.services.interview import Delivery, InterviewService
from interviewai.services.recognition import RecognitionService

logger = logging.getLogger(__name__)
RECORDINGS = "answers/"


@dataclass(frozen=True)
class TranscriptionSettings:
    """Limits and choices for spoken answers: the longest recording (seconds of audio and bytes sent), whether
    recordings are kept, and how a live answer is cut into parts (seconds)."""

    max_audio_s: float
    max_audio_bytes: int
    keep_audio: bool = True
    # Live answers are recognised in parts cut at pauses: at least this long, and cut anyway past the max.
    min_chunk_s: float = 3.0
    max_chunk_s: float = 12.0
    # ...and the audio not committed yet is recognised again (a partial transcript) after this much more.
    partial_every_s: float = 1.0


@dataclass(frozen=True)
class SpokenDelivery:
    """The next question (or the completion) after a spoken answer, and what was heard."""

    delivery: Delivery
    transcript: str
    speech: SpokenAnswer


class SpokenAnswerService:
    """Spoken answers, uploaded or streamed live: decoded, recognised with failover, and recorded through the
    interview service as the answer's text; keeps the recordings and deletes them when their session ends
    or is swept."""

    def __init__(
        self,
        interviews: InterviewService,
        store: SessionStore,
        recognition: RecognitionService,
        decoder: AudioDecoder,
        blobs: BlobStore,
        settings: TranscriptionSettings,
    ) -> None:
        self._interviews = interviews
        self._store = store
        self.recognition = recognition
        self.decoder = decoder
        self._blobs = blobs
        self.settings = settings
        interviews.on_end(self.forget)

    async def session(self, session_id: str) -> InterviewSession:
        """The session, if it is live (SessionNotFound or SessionExpired otherwise)."""
        return await self._interviews.status(session_id)

    async def answer_recording(
        self,
        session_id: str,
        question_id: int,
        data: bytes,
        content_type: str | None,
        filename: str | None,
        video_wait_s: float | None = None,
    ) -> SpokenDelivery:
        """Answer the current question with an uploaded recording; the same recording sent again for the
        question just answered returns the same next question without being recognised again."""
        digest = hashlib.sha256(data).hexdigest()
        session = await self._interviews.status(session_id)
        last = session.last_answered
        if last is not None and last.question.id == question_id and last.answer_text is not None:
            heard = last.speech
            if heard is not None and heard.audio_sha256 == digest:
                delivery = await self._interviews.answer(
                    session_id, question_id, last.answer_text, video_wait_s, speech=heard
                )
                return SpokenDelivery(delivery, last.answer_text, heard)
        position = session.ensure_answerable(question_id).position
        recording = await self.decoder.decode(data, content_type, filename, self.settings.max_audio_s)
        transcript = await self.recognise(recording)
        return await self.commit(session, position, question_id, recording, data, transcript, video_wait_s)

    async def recognise(self, recording: DecodedRecording) -> Transcript:
        """The transcript of a whole recording; NoSpeech when nobody says anything in it."""
        if self.decoder.is_silent(recording.audio):
            raise NoSpeech("Nothing was said in the recording; try again, a little closer to the microphone.")
        transcript = await self.recognition.transcribe(recording.audio)
        if transcript.is_empty:
            raise NoSpeech("No words were recognised in the recording; try again, or type the answer.")
        return transcript

    async def commit(
        self,
        session: InterviewSession,
        position: int,
        question_id: int,
        recording: DecodedRecording,
        data: bytes,
        transcript: Transcript,
        video_wait_s: float | None,
    ) -> SpokenDelivery:
        """Keep the recording and record the transcript as the answer."""
        digest = hashlib.sha256(data).hexdigest()
        blob = None
        if self.settings.keep_audio:
            blob = f"{RECORDINGS}{session.id}/{position}-{digest[:16]}.{recording.extension}"
            await self._blobs.put(blob, data)
        speech = SpokenAnswer(
            words=transcript.words,
            metrics=speech_metrics(transcript.words, recording.audio.duration_s),
            engine=transcript.engine_label,
            audio_sha256=digest,
            audio_blob=blob,
            audio_type=recording.media_type if blob else None,
        )
        delivery = await self._interviews.answer(
            session.id, question_id, transcript.text, video_wait_s, speech=speech
        )
        return SpokenDelivery(delivery, transcript.text, speech)

    async def recording(self, session_id: str, question_id: int) -> tuple[str, str]:
        """The blob name of a spoken answer's kept recording and its media type (the API streams it);
        RecordingNotFound, or SessionNotFound-like 404s, otherwise."""
        session = await self._interviews.status(session_id)
        asked = next((q for q in session.questions if q.question.id == question_id), None)
        speech = asked.speech if asked is not None else None
        if speech is None or speech.audio_blob is None:
            raise RecordingNotFound(f"Question {question_id} of this session has no kept recording.")
        return speech.audio_blob, speech.audio_type or "application/octet-stream"

    async def forget(self, session_id: str) -> None:
        """Delete every recording of a session (it was ended or swept)."""
        for name in await self._blobs.names(f"{RECORDINGS}{session_id}/"):
            await self._blobs.delete(name)

    async def sweep(self) -> int:
        """Delete the recordings of sessions that are gone, ended or expired; returns how many."""
        by_session: dict[str, list[str]] = defaultdict(list)
        for name in await self._blobs.names(RECORDINGS):
            parts = name.split("/")
            if len(parts) == 3:
                by_session[parts[1]].append(name)
        deleted = 0
        for session_id, names in by_session.items():
            session = await self._store.get(session_id)
            if session is not None and session.state in {SessionState.IN_PROGRESS, SessionState.COMPLETED}:
                continue
            for name in names:
                await self._blobs.delete(name)
                deleted += 1
        if deleted:
            logger.info("deleted %d recordings of ended or expired sessions", deleted)
        return deleted
