"""The live interview over WebSocket at /api/v1/interview/session, on the same services as HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocketDisconnect

from interviewai.api.deps import (
    AvatarDep,
    EvaluationsDep,
    InterviewsDep,
    SpokenDep,
    TasksDep,
    UrlBuilder,
    UrlsDep,
)
from interviewai.api.errors import (
    WS_NORMAL_CLOSURE,
    ApiError,
    websocket_close_code,
    websocket_error,
)
from interviewai.api.json_safety import NotPlainJson, check_plain_json
from interviewai.api.presenters import (
    avatar_image_url,
    delivery_response,
    idle_video_url,
    session_summary,
    status_response,
)
from interviewai.api.schemas import AnswerRequest, EndResponse, QuestionResponse, StartResponse
from interviewai.api.security import check_session_owner, request_key, session_id_for
from interviewai.api.ws_audio import AUDIO_TYPES, AudioAnswers
from interviewai.api.ws_feedback import push_feedback
from interviewai.background import BackgroundTasks
from interviewai.domain.avatar import VideoStatus
from interviewai.domain.errors import StoreUnavailable
from interviewai.domain.session import FeedbackMode, InterviewSession
from interviewai.observability.tracing import span
from interviewai.services.evaluation import EvaluationService
from interviewai.services.interview import InterviewService
from interviewai.services.transcription import SpokenAnswerService
from interviewai.services.video import AvatarService

logger = logging.getLogger(__name__)

# The largest message we read. A valid answer (10,000 characters) is at most 120,000 bytes even when a
# client escapes every character as a JSON surrogate pair (ensure_ascii), so 128 KiB never refuses one.
MAX_MESSAGE_BYTES = 128 * 1024
# What uvicorn should accept at all (`ws_max_size`); anything between the two gets `message_too_large`
# and the socket stays open, anything bigger is cut off by the protocol layer with close code 1009.
TRANSPORT_MAX_MESSAGE_BYTES = 1024 * 1024
# After this long without a message either way the server sends `ping`; dead peers are found by the
# protocol-level ping/pong of uvicorn (ws_ping_interval / ws_ping_timeout) and by failed sends.
HEARTBEAT_INTERVAL_S = 30.0
# Throttle per socket: past MESSAGE_RATE a message is refused with `rate_limited`; a client that keeps
# going past that (more than REFUSAL_LIMIT refusals) is closed with 1008.
MESSAGE_RATE: RateLimitItem = RateLimitItemPerSecond(10)
REFUSAL_LIMIT: RateLimitItem = RateLimitItemPerSecond(20, 10)
# Interview requests (start, answer, status, end) are served in order, one at a time, while pings are
# answered at once; a client may have this many waiting.
MAX_PENDING_REQUESTS = 8
_SHUTDOWN_GRACE_S = 5.0
WaitQuery = Annotated[
    float | None,
    Query(ge=0, le=3600, description="Seconds to wait for each question's video; 0 answers at once."),
]
INTERVIEW_REQUESTS = frozenset({"start", "answer", "status", "end"})
KNOWN_TYPES = INTERVIEW_REQUESTS | {"ping", "pong"} | AUDIO_TYPES


class ClientMessage(BaseModel):
    """The envelope of every client message; `data` may be left out (the seed sends a bare start)."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(strict=True, min_length=1, max_length=64)
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class InterviewRequest:
    """An interview request waiting its turn on the socket: its type and, for `answer`, the validated answer."""

    type: str
    answer: AnswerRequest | None = None


class Throttle:
    """Per-socket moving-window limits (`limits`, async API, in memory: a socket lives in one process).

    Entries expire on their own after their window; clearing them when a socket closes races the
    storage's own expiry task, so nothing is cleared by hand.
    """

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def allow_message(self, socket_id: str) -> bool:
        """Counts one message of the socket; False past MESSAGE_RATE (that message gets `rate_limited`)."""
        return await self._limiter.hit(MESSAGE_RATE, "message", socket_id)

    async def allow_refusal(self, socket_id: str) -> bool:
        """Counts one refusal of the socket; False past REFUSAL_LIMIT (the socket is then closed with 1008)."""
        return await self._limiter.hit(REFUSAL_LIMIT, "refusal", socket_id)


class Closing(Exception):
    """Raised inside a connection to send the error for `cause` and close with its close code."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class InterviewConnection:
    """One client socket bound to one interview session: reads, throttles, answers, and cleans up.

    It is given the services it uses (by the endpoint's dependencies), and its tasks are owned by the app's
    registry `tasks`, so the lifespan cancels what a socket left running.
    """

    def __init__(
        self,
        websocket: WebSocket,
        *,
        interviews: InterviewService,
        avatar: AvatarService,
        spoken: SpokenAnswerService,
        evaluations: EvaluationService,
        tasks: BackgroundTasks,
        urls: UrlBuilder,
        throttle: Throttle,
        heartbeat_interval_s: float,
        video_wait_s: float | None = None,
    ) -> None:
        self.id = secrets.token_hex(8)
        self._ws = websocket
        self._interviews = interviews
        self._avatar = avatar
        self._evaluations = evaluations
        self._tasks = tasks
        self._throttle = throttle
        self._heartbeat_interval_s = heartbeat_interval_s
        self._video_wait_s = video_wait_s
        self._urls = urls
        self._audio = AudioAnswers(
            spoken, lambda: self.session_id, self._send, tasks, self.task_prefix, urls,
            lambda: avatar.assets, video_wait_s,
        )  # fmt: skip
        self._pending: asyncio.Queue[InterviewRequest] = asyncio.Queue(MAX_PENDING_REQUESTS)
        self._send_lock = asyncio.Lock()
        self._last_activity = time.monotonic()
        self._open = False
        self._watchers: list[asyncio.Task[Any]] = []
        self.session_id = ""

    @property
    def task_prefix(self) -> str:
        """Every task of this socket is named `ws:<id>:...` in the app's background-task registry."""
        return f"ws:{self.id}:"

    async def serve(self, resume_session_id: str | None) -> None:
        """Runs the socket to its end: accepts it, starts or resumes the session, sends `session_info`, then
        reads, answers and heartbeats until either side leaves, and cancels every task of the socket before
        closing it with 1000. A session that cannot be opened is reported and closed with its error's close
        code."""
        await self._ws.accept()
        self._open = True
        try:
            session = await self._open_session(resume_session_id)
        except Exception as error:  # noqa: BLE001 - any failure to open the session is reported to the client, never a crash
            # No session to talk about (unknown or expired): say why and close.
            await self._send("error", websocket_error(error))
            await self._close(websocket_close_code(error))
            return
        if session is None:
            return
        self.session_id = session.id
        await self._send("session_info", self._session_info(session, resumed=resume_session_id is not None))
        tasks = self._tasks
        # Owned like the video watchers: cancelled with the socket, never ending the connection itself.
        self._watchers.append(
            tasks.spawn(
                self.task_prefix + "feedback",
                push_feedback(
                    self._send,
                    self._evaluations,
                    session.id,
                    self._urls,
                    each_answer=session.feedback is FeedbackMode.EACH,
                ),
            )
        )
        running = [
            tasks.spawn(self.task_prefix + "receive", self._receive_loop()),
            tasks.spawn(self.task_prefix + "requests", self._serve_requests()),
            tasks.spawn(self.task_prefix + "heartbeat", self._heartbeat()),
        ]
        try:
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._audio.close()
            running.extend(self._watchers)
            for task in running:
                task.cancel()
            await asyncio.wait(running, timeout=_SHUTDOWN_GRACE_S)
            await self._close(WS_NORMAL_CLOSURE)

    async def _open_session(self, resume_session_id: str | None) -> InterviewSession | None:
        """Start or resume the socket's session. While the store is down the client hears
        `store_unavailable` and the socket stays open: its next message (any) tries again.
        None: the client left meanwhile."""
        key = request_key(self._ws)
        while True:
            try:
                if resume_session_id is None:
                    return await self._interviews.start(session_id=session_id_for(key))
                check_session_owner(key, resume_session_id)
                return await self._interviews.status(resume_session_id)
            except StoreUnavailable as error:
                await self._send("error", websocket_error(error))
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return None

    async def send_video_ready(self, question_id: int, video_url: str) -> None:
        """Tell the client the clip of a question it got without video is ready now."""
        await self._send("video_ready", {"question_id": question_id, "video_url": video_url})

    def _session_info(self, session: InterviewSession, *, resumed: bool) -> dict[str, Any]:
        assets = self._avatar.assets
        info = StartResponse(
            session_id=session.id,
            state=session.state.value,
            total_questions=session.total_questions,
            avatar_mode="video" if self._avatar.video_on else "audio_only",
            avatar_image_url=avatar_image_url(assets, self._urls),
            idle_video_url=idle_video_url(assets, self._urls),
        ).model_dump(mode="json")
        # Additions: where the session stands, so a client that reconnects knows what `start` brings.
        info.update(
            current_question=session.current_question_number,
            answers_recorded=session.answers_recorded,
            resumed=resumed,
        )
        return info

    async def _receive_loop(self) -> None:
        """Read messages until the client goes; answer pings at once and queue interview requests."""
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            self._last_activity = time.monotonic()
            try:
                await self._admit(message)
            except Closing as closing:
                await self._send("error", websocket_error(closing.cause))
                await self._close(websocket_close_code(closing.cause))
                return
            except Exception as error:  # noqa: BLE001 - the socket's boundary: every error becomes an error message
                # ApiError and ValidationError are the client's; anything else is logged with its stack.
                await self._send("error", websocket_error(error))

    async def _admit(self, message: MutableMapping[str, Any]) -> None:
        audio = message.get("bytes")
        if audio is not None and self._audio.takes_binary(audio):
            self._audio.feed(audio)  # audio frames come many a second: not throttled like messages
            return
        if not await self._throttle.allow_message(self.id):
            await self._refuse(ApiError(429, "rate_limited", f"Too many messages; at most {MESSAGE_RATE}."))
            return
        envelope = self._parse(message)
        payload = envelope.data or {}
        if envelope.type == "ping":
            await self._send("pong", {"timestamp": payload.get("timestamp", _now_ms())})
        elif envelope.type == "pong":
            return  # the client's reply to our heartbeat: being here is all it says
        elif envelope.type == "answer_audio_start":
            await self._audio.start(payload)
        elif envelope.type == "answer_audio_end":
            if self._audio.end():
                await self._queue(InterviewRequest("answer_audio_end"))
        elif envelope.type in INTERVIEW_REQUESTS:
            answer = AnswerRequest.model_validate(payload) if envelope.type == "answer" else None
            await self._queue(InterviewRequest(envelope.type, answer))
        else:
            known = ", ".join(sorted(KNOWN_TYPES))
            raise ApiError(400, "unknown_type", f"Unknown message type {envelope.type!r}; expected {known}.")

    async def _queue(self, request: InterviewRequest) -> None:
        """Queue an interview request, served in order; refused when too many are waiting."""
        try:
            self._pending.put_nowait(request)
        except asyncio.QueueFull:
            await self._refuse(
                ApiError(429, "busy", "Too many requests waiting; wait for the answers to come back.")
            )

    async def _refuse(self, error: ApiError) -> None:
        if not await self._throttle.allow_refusal(self.id):
            raise Closing(ApiError(429, "rate_limited", "Too many messages; closing the connection."))
        raise error

    @staticmethod
    def _parse(message: MutableMapping[str, Any]) -> ClientMessage:
        raw: str | bytes | None = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
        if size > MAX_MESSAGE_BYTES:
            raise ApiError(
                413, "message_too_large", f"A message may be at most {MAX_MESSAGE_BYTES} bytes; got {size}."
            )
        try:
            decoded = json.loads(raw)
        except RecursionError:
            raise ApiError(400, "json_too_deep", "The message's JSON is nested too deeply.") from None
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_encoding", "The message is not valid UTF-8.") from None
        except ValueError as error:
            raise ApiError(422, "invalid_json", f"The message is not valid JSON: {error}.") from None
        try:
            # Whatever is echoed back (a ping's timestamp) must be JSON and UTF-8 again.
            check_plain_json(decoded)
        except NotPlainJson as error:
            raise ApiError(422, "validation_error", f"The message cannot be accepted: {error}.") from None
        if not isinstance(decoded, dict):
            raise ApiError(
                422, "validation_error", 'A message must be a JSON object like {"type": "start", "data": {}}.'
            )
        return ClientMessage.model_validate(decoded)

    async def _serve_requests(self) -> None:
        """Serve interview requests one at a time, in the order they came."""
        while True:
            request = await self._pending.get()
            try:
                if request.type == "end":
                    session = await self._interviews.end(self.session_id)
                    ended = EndResponse(
                        message="Interview session ended.",
                        session_id=session.id,
                        summary=session_summary(session, self._urls),
                    )
                    await self._send("ended", ended.model_dump(mode="json"))
                    await self._close(WS_NORMAL_CLOSURE)
                    return
                with span("websocket.message", message_type=request.type):
                    await self._serve(request)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - the socket's boundary: every error becomes an error message
                await self._send("error", websocket_error(error))

    async def _serve(self, request: InterviewRequest) -> None:
        if request.type == "answer_audio_end":
            await self._audio.finish()
            return
        if request.type == "status":
            session = await self._interviews.status(self.session_id)
            await self._send("status", status_response(session).model_dump(mode="json"))
            return
        if request.answer is not None:
            answer = request.answer
            delivery = await self._interviews.answer(
                self.session_id, answer.question_id, answer.answer_text, video_wait_s=self._video_wait_s
            )
        else:
            delivery = await self._interviews.current(self.session_id, video_wait_s=self._video_wait_s)
        response = delivery_response(delivery, self._urls, self._avatar.assets)
        await self._send(response.type, response.model_dump(mode="json"))
        if isinstance(response, QuestionResponse) and response.video_status == "pending":
            self._watch_video(response.question_id, response.question_text)

    def _watch_video(self, question_id: int, question_text: str) -> None:
        """Push `video_ready` when this question's pending clip lands (the socket may be gone by then)."""
        name = f"{self.task_prefix}video:{question_id}"
        if name in self._tasks.names:
            return

        async def watch() -> None:
            video = await self._interviews.video_when_ready(question_text)
            if video.status is VideoStatus.READY and video.blob_name is not None:
                await self.send_video_ready(question_id, self._urls.media(video.blob_name))

        self._watchers.append(self._tasks.spawn(name, watch()))

    async def _heartbeat(self) -> None:
        """Send `ping` after every HEARTBEAT_INTERVAL_S of silence; stop when the socket is gone."""
        while True:
            quiet_for = time.monotonic() - self._last_activity
            if quiet_for >= self._heartbeat_interval_s:
                if not await self._send("ping", {"timestamp": _now_ms()}):
                    return
                quiet_for = 0.0
            await asyncio.sleep(self._heartbeat_interval_s - quiet_for)

    async def _send(self, kind: str, data: dict[str, Any]) -> bool:
        """Send one message; False when the socket is already gone (the caller then stops)."""
        text = json.dumps({"type": kind, "data": data}, ensure_ascii=False, separators=(",", ":"))
        async with self._send_lock:
            if not self._open:
                return False
            try:
                await self._ws.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._open = False
                return False
        self._last_activity = time.monotonic()
        return True

    async def _close(self, code: int) -> None:
        async with self._send_lock:
            if not self._open:
                return
            self._open = False
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self._ws.close(code)


def _now_ms() -> int:
    return int(time.time() * 1000)


def websocket_router(heartbeat_interval_s: float | None = None) -> APIRouter:
    """The WebSocket route; each app gets its own throttle state. Its services come as dependencies, as
    HTTP routes get theirs (FastAPI resolves them before the socket is accepted)."""
    router = APIRouter(prefix="/api/v1")
    throttle = Throttle()
    interval = heartbeat_interval_s if heartbeat_interval_s is not None else HEARTBEAT_INTERVAL_S

    @router.websocket("/interview/session")
    async def interview_session(
        websocket: WebSocket,
        interviews: InterviewsDep,
        avatar: AvatarDep,
        spoken: SpokenDep,
        evaluations: EvaluationsDep,
        tasks: TasksDep,
        urls: UrlsDep,
        session_id: str | None = None,
        wait: WaitQuery = None,
    ) -> None:
        connection = InterviewConnection(
            websocket,
            interviews=interviews,
            avatar=avatar,
            spoken=spoken,
            evaluations=evaluations,
            tasks=tasks,
            urls=urls,
            throttle=throttle,
            heartbeat_interval_s=interval,
            video_wait_s=wait,
        )
        await connection.serve(session_id)

    return router
