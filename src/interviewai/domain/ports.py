"""Ports: the roles outside systems play for the services (implemented in adapters)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from interviewai.domain.avatar import ClipRequest, ClipStatus, Credits, Presenter
from interviewai.domain.banks import StoredBank
from interviewai.domain.blobs import ByteRange, ByteSpan
from interviewai.domain.chat import ChatMessage, JsonReply
from interviewai.domain.evaluation import AnswerToJudge, Evaluation, EvaluationRecord
from interviewai.domain.jobs import Job
from interviewai.domain.media import VoiceIdentity
from interviewai.domain.media_index import Claim, MediaEntry
from interviewai.domain.questions import Question, QuestionBank
from interviewai.domain.recognition import DecodedRecording, PcmAudio, Transcript
from interviewai.domain.session import AskedQuestion, FollowUp, InterviewSession
from interviewai.domain.speech import SpokenAudio, VoiceInfo, VoiceSettings


class SpeechSynthesizer(Protocol):
    """Turns text into MP3 with measured word timings and visemes."""

    @property
    def engine(self) -> str:
        """Short engine name ("piper", "edge") used in media keys, metrics and health."""
        ...

    @property
    def engine_version(self) -> str:
        """Engine and model version; part of every media key, so a new version never serves old audio."""
        ...

    async def synthesize(self, text: str, settings: VoiceSettings) -> SpokenAudio:
        """Speak `text`; raises ProviderError when the engine cannot."""
        ...

    async def list_voices(self) -> list[VoiceInfo]:
        """The voices the engine offers (GET /voices); raises ProviderError when it cannot list them."""
        ...


class Speaker(Protocol):
    """Speaks text with the best engine available now (failover lives behind this: SpeechService)."""

    def cache_candidates(self) -> list[VoiceIdentity]:
        """Voices whose cached audio may be served, in order; the last is the one that would speak now."""
        ...

    async def speak_with_identity(self, text: str) -> tuple[SpokenAudio, VoiceIdentity]:
        """Speak `text`; returns the audio and the identity of the engine that spoke (its media key)."""
        ...


class SpeechRecognizer(Protocol):
    """Turns a spoken recording into text with word times and confidences."""

    @property
    def engine(self) -> str:
        """Short engine name ("whisper", "openai") used in transcripts, metrics and health."""
        ...

    @property
    def model(self) -> str:
        """The model that recognises (e.g. "tiny.en"), reported with every transcript."""
        ...

    async def transcribe(self, audio: PcmAudio, prompt: str = "") -> Transcript:
        """Recognise `audio` (English); `prompt` is the text said just before it, for context.

        An empty transcript means nobody spoke; raises ProviderError when the engine cannot answer.
        """
        ...


class AudioStream(Protocol):
    """A recording being decoded as it arrives; its PCM goes to the `on_pcm` it was opened with."""

    def feed(self, data: bytes) -> None:
        """The next bytes of the stream (never blocks)."""
        ...

    async def finish(self) -> None:
        """The stream is complete: wait until every byte is decoded; UnreadableAudio when it does not."""
        ...

    def cancel(self) -> None:
        """Give up: the decoding stops and nothing more is delivered."""
        ...


class AudioDecoder(Protocol):
    """Turns recordings in the formats clients send into 16 kHz mono PCM, and looks into that PCM."""

    async def decode(
        self, data: bytes, content_type: str | None, filename: str | None, max_s: float
    ) -> DecodedRecording:
        """Decode a whole file; UnsupportedAudio, UnreadableAudio or AudioTooLong when it cannot."""
        ...

    def open_stream(
        self, stream_format: str, sample_rate: int, on_pcm: Callable[[bytes], None]
    ) -> AudioStream:
        """Start decoding a live stream (`on_pcm` is called on the event loop)."""
        ...

    def as_wav(self, audio: PcmAudio) -> bytes:
        """The PCM as a complete 16-bit mono 16 kHz WAV file (kept as the recording of a raw PCM stream)."""
        ...

    def is_silent(self, audio: PcmAudio) -> bool:
        """True when nothing in `audio` is loud enough to be speech."""
        ...

    def last_sound_s(self, audio: PcmAudio) -> float:
        """Where the last sound in `audio` ends, in seconds from its start (0.0 when it is all quiet)."""
        ...

    def cut_point(self, audio: PcmAudio, min_chunk_s: float, max_chunk_s: float) -> float | None:
        """Where to split `audio` so the first part can be recognised on its own: the middle of the last
        pause after `min_chunk_s`, the quietest moment once it is longer than `max_chunk_s`, else None."""
        ...

    def quietest_s(self, audio: PcmAudio, start_s: float, end_s: float) -> float:
        """The quietest moment of `audio` between `start_s` and `end_s` (where a cut splits no word)."""
        ...


class SessionStore(Protocol):
    """Durable interview sessions with compare-and-set updates."""

    async def create(self, session: InterviewSession) -> None:
        """Store a new session under its id (version 0); StoreUnavailable when the store does not answer."""
        ...

    async def get(self, session_id: str) -> InterviewSession | None:
        """The session with that id, None when there is none; an expired one comes back as a tombstone."""
        ...

    async def save(self, session: InterviewSession) -> InterviewSession:
        """Persist `session` if its version is still the stored one; raises ConcurrentUpdate otherwise.

        Returns the session with its new version.
        """
        ...

    async def expire_inactive(self, inactive_since: datetime, forget_before: datetime) -> int:
        """Mark sessions idle since `inactive_since` expired and drop their content; delete tombstones
        idle since `forget_before`. Returns how many sessions were expired."""
        ...


class BlobRead(Protocol):
    """An open read of a blob, or of a byte range of it: iterate `chunks()` once, then `aclose()` (also when
    stopping early: it releases the file or the connection)."""

    @property
    def span(self) -> ByteSpan:
        """Which bytes of the blob the chunks are, and the blob's whole size."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The bytes of `span`, in order, as they are read (never the whole blob in memory at once)."""
        ...

    async def aclose(self) -> None:
        """Release what the read holds; safe to call twice."""
        ...


class BlobReader(Protocol):
    """Streams stored media out: the whole blob or one byte range, as the API serves it."""

    async def open(self, name: str, wanted: ByteRange | None = None) -> BlobRead | None:
        """Start reading `name` whole, or the bytes `wanted`. None when the blob does not exist;
        UnsatisfiableRange (with the blob's size) when `wanted` covers none of it; UnsafeBlobName for a
        name that could leave the store."""
        ...


class BlobStore(BlobReader, Protocol):
    """Immutable named blobs (media files); writes are atomic, reads never see a partial blob."""

    async def put(self, name: str, data: bytes) -> None:
        """Store `data` under `name` atomically: readers see the old blob or the new one, never a part."""
        ...

    async def get(self, name: str) -> bytes | None:
        """The whole blob, None when it does not exist."""
        ...

    async def exists(self, name: str) -> bool:
        """True when a blob named `name` exists."""
        ...

    async def size(self, name: str) -> int | None:
        """The blob's size in bytes, or None when it does not exist."""
        ...

    async def delete(self, name: str) -> None:
        """Remove `name`; a blob that does not exist is not an error."""
        ...

    async def names(self, prefix: str) -> list[str]:
        """Names of the blobs under the folder `prefix` (e.g. "answers/"), in no particular order."""
        ...


class AvatarRenderer(Protocol):
    """Renders talking-presenter clips (D-ID Clips); every failure is a ProviderError."""

    async def create_clip(self, request: ClipRequest) -> str:
        """Start rendering (uploading our audio first when given); returns the clip id at once."""
        ...

    async def wait_for_clip(self, clip_id: str, timeout_s: float) -> ClipStatus:
        """Poll until the clip is done (returns it) or fails, is rejected, or the deadline passes (raises)."""
        ...

    async def download(self, url: str) -> bytes:
        """Fetch a result or idle video (result links expire after about a day)."""
        ...

    async def presenter(self, presenter_id: str) -> Presenter:
        """The presenter's image, thumbnail and idle video; raises ProviderError when it cannot say."""
        ...

    async def credits(self) -> Credits:
        """The account's credits as the provider reports them now; raises ProviderError when it cannot say."""
        ...


class MediaIndex(Protocol):
    """Which media exist under which content key; the row is also the single-flight claim."""

    async def get(self, key: str) -> MediaEntry | None:
        """The index row of `key`, None when nothing was ever claimed or stored under it."""
        ...

    async def claim(self, key: str, kind: str, owner: str, now: float, stale_after_s: float) -> Claim:
        """Own `key` if nobody does, if its owner went quiet for `stale_after_s`, or if it failed."""
        ...

    async def take_over(self, key: str, gone_owner: str, owner: str, now: float) -> bool:
        """Move a pending claim from an owner known to be gone to `owner` at once; False when the claim is
        no longer that owner's pending one."""
        ...

    async def heartbeat(self, key: str, owner: str, now: float) -> bool:
        """Keep a claim alive; False when someone else has taken it over."""
        ...

    async def record_provider_ref(self, key: str, owner: str, provider_ref: str | None, now: float) -> None:
        """Remember the provider's job id at once, so a retry resumes it instead of paying again
        (None forgets a job that can no longer finish)."""
        ...

    async def mark_ready(self, key: str, kind: str, blob_name: str, meta: str, now: float) -> None:
        """Publish a finished entry (whoever owned it; also used to store under a key nobody claimed)."""
        ...

    async def mark_failed(self, key: str, owner: str, error: str, now: float) -> None:
        """Fail `owner`'s pending claim; an entry that is ready, or someone else's, is left alone."""
        ...

    async def release(self, key: str, owner: str) -> None:
        """Give up a claim without a result (the media went under another key)."""
        ...

    async def invalidate(self, key: str, reason: str, now: float) -> None:
        """Mark a ready entry whose blob is missing or broken as failed, so the next claim regenerates it
        (keeping the provider's job id: a finished clip is downloaded again, not paid for again)."""
        ...


JobT = TypeVar("JobT", bound=Job)
JobT_contra = TypeVar("JobT_contra", bound=Job, contravariant=True)


class JobHandler(Protocol[JobT_contra]):
    """Runs one job of its type (a service's method, registered when the service is built)."""

    def __call__(self, job: JobT_contra, /) -> Awaitable[None]:
        """Do the job; an exception is logged with the job's arguments (the job is not retried)."""
        ...


class JobQueue(Protocol):
    """Background jobs (domain/jobs.py): in-process now, a broker with worker processes when scaled out."""

    def register(self, job_type: type[JobT], handler: JobHandler[JobT]) -> None:
        """Run `handler` for every job of `job_type` this process receives (under `job_type.name`)."""
        ...

    async def enqueue(self, job: Job) -> None:
        """Queue a job; returns once it is queued, not when it has run."""
        ...


class AnswerListener(Protocol):
    """Told about every answer stored (evaluation queues its job here)."""

    async def answer_recorded(self, session: InterviewSession, asked: AskedQuestion) -> None:
        """`asked` was just answered and stored in `session`; return soon (an error is logged, the answer
        stands)."""
        ...


class FollowUpChooser(Protocol):
    """Decides, from an answer, whether it earns a follow-up question (at most one per question)."""

    async def choose(self, question: Question, answer_text: str) -> FollowUp | None:
        """The follow-up the answer earns, not yet served; None when it has no clear gap."""
        ...


class HealthBoard(Protocol):
    """Which providers are off, shared by every instance: name -> (until, epoch seconds; reason)."""

    async def mark_down(self, provider: str, until: float, reason: str) -> None:
        """Mark `provider` off until `until` (epoch seconds) for `reason`, for every instance."""
        ...

    async def mark_up(self, provider: str) -> None:
        """Clear any mark on `provider`: it is usable again everywhere."""
        ...

    async def snapshot(self) -> dict[str, tuple[float, str]]:
        """Providers marked off: name -> (until, epoch seconds; reason); lapsed marks included."""
        ...


class Embedder(Protocol):
    """Sentence embeddings: float32 rows of unit length, so the dot product of two rows is their cosine."""

    @property
    def model_name(self) -> str:
        """Names the model and its settings; vectors of different names must never be compared."""
        ...

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One row per text, shape (len(texts), dim); an empty list gives (0, dim).

        Runs off the event loop with a deadline; raises ProviderError (timeout) when it passes.
        """
        ...


class ChatModel(Protocol):
    """An instruct model behind an OpenAI-compatible chat-completions API, asked for JSON by schema."""

    @property
    def model_name(self) -> str:
        """The configured model; store it with whatever its replies produced."""
        ...

    async def complete_json(
        self,
        messages: Sequence[ChatMessage],
        schema: Mapping[str, Any],
        *,
        schema_name: str,
        max_tokens: int,
        timeout_s: float | None = None,
        temperature: float = 0.0,
    ) -> JsonReply:
        """Ask for one JSON object following `schema` (a JSON Schema object), within `timeout_s`
        (None: the configured default), retries included.

        The reply is parsed, not validated: check every field. Raises ProviderError on any failure;
        category INVALID_OUTPUT when the model's content is not a complete JSON object.
        """
        ...


class BankParser(Protocol):
    """Reads a question-bank document (format 2: YAML, or JSON) into a checked bank."""

    def parse(self, content: bytes, source: str, *, json_format: bool) -> QuestionBank:
        """The bank `content` holds; raises InvalidQuestionBank listing every problem with its line (`source`
        names the document in them)."""
        ...


class BankStore(Protocol):
    """Custom question banks uploaded through the API: the document as sent, versioned."""

    async def list(self) -> list[StoredBank]:
        """Every stored bank, ordered by id."""
        ...

    async def get(self, bank_id: str) -> StoredBank | None:
        """The bank with id `bank_id`, None when there is none."""
        ...

    async def put(self, bank_id: str, name: str, format: str, content: str, now: float) -> StoredBank:
        """Create the bank (version 1) or replace it (version + 1)."""
        ...

    async def delete(self, bank_id: str, active_since: float) -> bool:
        """Delete unless a session active since `active_since` uses it (raises BankInUse); False if absent."""
        ...


class AnswerEvaluator(Protocol):
    """Judges one answer against its question's rubric; raises EvaluationFailed when it cannot."""

    @property
    def name(self) -> str:
        """Short evaluator name ("rubric", "llm") stored with each evaluation."""
        ...

    @property
    def version(self) -> str:
        """Engine version and model, stored with each evaluation so a result says what judged it."""
        ...

    async def evaluate(self, answer: AnswerToJudge) -> Evaluation:
        """Judge one answer against its rubric; raises EvaluationFailed when it cannot."""
        ...


class EvaluationStore(Protocol):
    """One evaluation record per session question; results land only for the answer text stored now."""

    async def mark_pending(
        self, session_id: str, position: int, question_id: int, answer_sha: str, now: float
    ) -> None:
        """Start (or restart, for a new text) the evaluation of an answer."""
        ...

    async def store_result(
        self,
        session_id: str,
        position: int,
        answer_sha: str,
        evaluation: Evaluation,
        attempts: int,
        now: float,
    ) -> bool:
        """Record a result; False (nothing written) when the record is for another text by now."""
        ...

    async def store_failure(
        self, session_id: str, position: int, answer_sha: str, reason: str, attempts: int, now: float
    ) -> bool:
        """Record that the evaluation gave up with `reason`; False when the record is for another text now."""
        ...

    async def for_session(self, session_id: str) -> list[EvaluationRecord]:
        """Every evaluation record of the session, ordered by position; an unanswered question has none."""
        ...
