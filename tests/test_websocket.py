"""The live interview over WebSocket, with a real client against the app under uvicorn."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from conftest import SettingsFactory
from interviewai.api import websocket as ws_module
from live_server import KEEPALIVE_S, PATH, Live, serve_app
from ws_pacing import paced_send

CONTRACT_INFO_FIELDS = {
    "session_id",
    "state",
    "total_questions",
    "avatar_mode",
    "avatar_image_url",
    "idle_video_url",
}
# Media are produced fresh per test (a new data dir), so the first question of a session may take a while.
RECEIVE_TIMEOUT_S = 60.0
CONNECTION_TASKS = {"receive", "requests", "heartbeat", "feedback"}


@pytest.fixture
async def live(make_settings: SettingsFactory) -> AsyncIterator[Live]:
    async with serve_app(make_settings()) as running:
        yield running


@contextlib.asynccontextmanager
async def interview_socket(live: Live, query: str = "") -> AsyncIterator[ClientConnection]:
    async with connect(live.url(query), max_size=8 * 1024 * 1024, open_timeout=30) as socket_:
        yield socket_


async def receive(socket_: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket_.recv(), RECEIVE_TIMEOUT_S))
    assert set(message) == {"type", "data"}, message
    return message


async def request(socket_: ClientConnection, message: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """Send one message (paced under the server's per-socket rate) and return the next message."""
    await paced_send(socket_, message if isinstance(message, str | bytes) else json.dumps(message))
    return await receive(socket_)


async def reply(
    socket_: ClientConnection, message: dict[str, Any], pushed: list[dict[str, Any]]
) -> dict[str, Any]:
    """The reply to `message`, past any `report_ready` push (collected into `pushed`)."""
    received = await request(socket_, message)
    while received["type"] == "report_ready":
        pushed.append(received)
        received = await receive(socket_)
    return received


async def messages_until_closed(socket_: ClientConnection, limit: int = 1000) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        try:
            seen.append(json.loads(await asyncio.wait_for(socket_.recv(), RECEIVE_TIMEOUT_S)))
        except ConnectionClosed:
            return seen
    raise AssertionError(f"the socket stayed open after {limit} messages")


async def assert_alive(socket_: ClientConnection, stamp: int = 1234) -> None:
    assert await request(socket_, {"type": "ping", "data": {"timestamp": stamp}}) == {
        "type": "pong",
        "data": {"timestamp": stamp},
    }


def answer(question: dict[str, Any], text: str = "A short, honest answer.") -> dict[str, Any]:
    return {"type": "answer", "data": {"question_id": question["question_id"], "answer_text": text}}


def connection_tasks_running(live: Live) -> bool:
    """The socket's own tasks (a name is `ws:<id>:<what>`) are all running; more may come and go."""
    return {name.rsplit(":", 1)[-1] for name in live.socket_tasks()} >= CONNECTION_TASKS


async def eventually(check: Any, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_whole_interview_over_the_socket(live: Live) -> None:
    async with interview_socket(live) as socket_, httpx.AsyncClient(base_url=live.http) as http:
        info = await receive(socket_)
        assert info["type"] == "session_info"
        data = info["data"]
        assert set(data) >= CONTRACT_INFO_FIELDS
        assert data["state"] == "in_progress" and data["total_questions"] == 10
        assert data["avatar_mode"] == "audio_only"
        assert data["avatar_image_url"] == f"{live.http}/api/v1/media/avatar.png"
        assert data["current_question"] == 1 and data["resumed"] is False
        session_id = data["session_id"]

        # The seed's bare start, with no data.
        message = await request(socket_, '{"type": "start"}')
        assert message["type"] == "question"
        over_http = (await http.get(f"/api/v1/interview/{session_id}/question")).json()
        assert {k: v for k, v in message["data"].items() if k != "latency_ms"} == {
            k: v for k, v in over_http.items() if k != "latency_ms"
        }, "the socket sends the same question object as HTTP"
        audio = await http.get(message["data"]["audio_url"])
        assert audio.status_code == 200
        assert audio.content == base64.b64decode(message["data"]["audio_base64"])

        for number in range(1, 11):
            question = message["data"]
            assert message["type"] == "question"
            assert question["current_question"] == number and question["total_questions"] == 10
            assert question["word_timings"] and question["visemes"]
            status = await request(socket_, {"type": "status", "data": {}})
            assert status == {
                "type": "status",
                "data": {
                    "session_id": session_id,
                    "state": "in_progress",
                    "current_question": number,
                    "total_questions": 10,
                    "is_complete": False,
                    "answers_recorded": number - 1,
                },
            }
            message = await request(socket_, answer(question, f"Answer number {number}."))

        assert message["type"] == "complete"
        summary = message["data"]["session_summary"]
        assert message["data"]["questions_answered"] == 10
        assert summary["state"] == "completed" and summary["completed_at"]
        assert [q["answer_text"] for q in summary["questions"]] == [
            f"Answer number {n}." for n in range(1, 11)
        ]
        # After the last answer `start` brings the completion again, as GET question does. The report's
        # `report_ready` push may come at any point from here on (the evaluations run in the background).
        pushed: list[dict[str, Any]] = []
        assert (await reply(socket_, {"type": "start"}, pushed))["type"] == "complete"

        ended = await reply(socket_, {"type": "end"}, pushed)
        assert ended["type"] == "ended"
        assert ended["data"]["session_id"] == session_id and ended["data"]["summary"]["state"] == "ended"
        pushed += await messages_until_closed(socket_)
        assert [m["type"] for m in pushed] in ([], ["report_ready"]), "nothing else after the end"
        assert socket_.close_code == 1000


async def test_a_dropped_socket_resumes_at_the_same_question(live: Live) -> None:
    async with interview_socket(live) as first:
        session_id = (await receive(first))["data"]["session_id"]
        question_1 = (await request(first, {"type": "start"}))["data"]
        question_2 = (await request(first, answer(question_1)))["data"]
        assert question_2["current_question"] == 2
    await eventually(lambda: not live.socket_tasks())

    async with interview_socket(live, f"session_id={session_id}") as second:
        info = (await receive(second))["data"]
        assert info["session_id"] == session_id and info["resumed"] is True
        assert info["state"] == "in_progress"
        assert info["current_question"] == 2 and info["answers_recorded"] == 1
        again = (await request(second, {"type": "start"}))["data"]
        assert again["question_id"] == question_2["question_id"]
        assert again["audio_base64"] == question_2["audio_base64"]
        question_3 = (await request(second, answer(again)))["data"]
        assert question_3["current_question"] == 3


async def test_a_session_started_over_http_continues_over_the_socket(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.http) as http:
        session_id = (await http.post("/api/v1/interview/start")).json()["session_id"]
        first = (await http.get(f"/api/v1/interview/{session_id}/question")).json()
        answered = await http.post(
            f"/api/v1/interview/{session_id}/answer",
            json={"question_id": first["question_id"], "answer_text": "Over HTTP."},
        )
        assert answered.json()["current_question"] == 2

        async with interview_socket(live, f"session_id={session_id}") as socket_:
            assert (await receive(socket_))["data"]["current_question"] == 2
            question = (await request(socket_, {"type": "start"}))["data"]
            assert question["question_id"] == answered.json()["question_id"]
            assert (await request(socket_, answer(question)))["data"]["current_question"] == 3

        status = (await http.get(f"/api/v1/interview/{session_id}/status")).json()
        assert status["answers_recorded"] == 2 and status["state"] == "in_progress"


async def test_an_unknown_session_is_refused_with_its_code(live: Live) -> None:
    async with interview_socket(live, "session_id=session_nope") as socket_:
        error = await receive(socket_)
        assert error["type"] == "error" and error["data"]["code"] == "session_not_found"
        assert await messages_until_closed(socket_) == []
        assert socket_.close_code == 4404


async def test_an_expired_session_is_refused_with_its_code(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.http) as http:
        session_id = (await http.post("/api/v1/interview/start")).json()["session_id"]
    settings = live.container.settings
    database = settings.resolved_database_url.split("///", 1)[1]
    with sqlite3.connect(database) as connection:
        connection.execute(
            "UPDATE sessions SET updated_at = updated_at - ? WHERE id = ?",
            (settings.session_timeout_s + 5, session_id),
        )
    async with interview_socket(live, f"session_id={session_id}") as socket_:
        assert (await receive(socket_))["data"]["code"] == "expired"
        await messages_until_closed(socket_)
        assert socket_.close_code == 4404


BAD_MESSAGES: list[tuple[str, str | bytes, str]] = [
    ("oversized", json.dumps({"type": "ping", "data": {"pad": "x" * 200_000}}), "message_too_large"),
    ("malformed JSON", '{"type": "start"', "invalid_json"),
    ("not UTF-8", b"\xff\xfe\xfd", "invalid_encoding"),
    ("a JSON array", "[1, 2, 3]", "validation_error"),
    ("a JSON string", '"start"', "validation_error"),
    ("no type", '{"data": {}}', "validation_error"),
    ("a number for a type", '{"type": 7}', "validation_error"),
    ("data not an object", '{"type": "answer", "data": [1]}', "validation_error"),
    ("unknown type", '{"type": "dance"}', "unknown_type"),
    ("answer without fields", '{"type": "answer", "data": {}}', "validation_error"),
    ("answer without text", '{"type": "answer", "data": {"question_id": 1}}', "validation_error"),
    (
        "question_id as a string",
        '{"type": "answer", "data": {"question_id": "1", "answer_text": "x"}}',
        "validation_error",
    ),
    (
        "blank answer",
        '{"type": "answer", "data": {"question_id": 1, "answer_text": "  "}}',
        "validation_error",
    ),
    (
        "wrong question",
        '{"type": "answer", "data": {"question_id": 7, "answer_text": "Hi."}}',
        "wrong_question",
    ),
]


@pytest.mark.parametrize(("case", "sent", "code"), BAD_MESSAGES, ids=[case for case, _, _ in BAD_MESSAGES])
async def test_a_bad_message_gets_an_error_and_the_socket_stays_open(
    live: Live, case: str, sent: str | bytes, code: str
) -> None:
    async with interview_socket(live) as socket_:
        session_id = (await receive(socket_))["data"]["session_id"]
        error = await request(socket_, sent)
        assert error["type"] == "error", case
        assert error["data"]["code"] == code, error
        assert isinstance(error["data"]["message"], str) and error["data"]["message"]
        await assert_alive(socket_)
        status = (await request(socket_, {"type": "status"}))["data"]
        assert status["session_id"] == session_id and status["answers_recorded"] == 0


async def test_a_message_past_the_transport_limit_closes_with_1009(live: Live) -> None:
    async with interview_socket(live) as socket_:
        await receive(socket_)
        await socket_.send("x" * (ws_module.TRANSPORT_MAX_MESSAGE_BYTES + 1))
        await messages_until_closed(socket_)
        assert socket_.close_code == 1009


async def test_a_flood_is_throttled_then_closed_with_policy_violation(live: Live) -> None:
    async with interview_socket(live) as socket_:
        session_id = (await receive(socket_))["data"]["session_id"]
        for stamp in range(200):
            try:
                await socket_.send(json.dumps({"type": "ping", "data": {"timestamp": stamp}}))
            except ConnectionClosed:
                break
        seen = await messages_until_closed(socket_)
    assert socket_.close_code == 1008
    pongs = [m for m in seen if m["type"] == "pong"]
    refusals = [m for m in seen if m["type"] == "error"]
    # Moving window: one window's worth of pongs (two if the flood straddles a second on a slow machine).
    assert 1 <= len(pongs) <= 2 * ws_module.MESSAGE_RATE.amount
    assert refusals and all(m["data"]["code"] == "rate_limited" for m in refusals)
    assert len(refusals) == ws_module.REFUSAL_LIMIT.amount + 1, "refused, then the last error before closing"
    assert seen[-1]["type"] == "error"
    # The flood cost the client its socket, not its interview.
    async with interview_socket(live, f"session_id={session_id}") as again:
        assert (await receive(again))["data"]["state"] == "in_progress"


async def test_ping_is_answered_with_its_timestamp(live: Live) -> None:
    async with interview_socket(live) as socket_:
        await receive(socket_)
        await assert_alive(socket_, stamp=1_700_000_000_123)
        bare = await request(socket_, {"type": "ping"})
        assert bare["type"] == "pong" and isinstance(bare["data"]["timestamp"], int)


async def test_end_closes_the_session_and_the_socket(live: Live) -> None:
    async with interview_socket(live) as socket_:
        session_id = (await receive(socket_))["data"]["session_id"]
        await request(socket_, {"type": "start"})
        ended = await request(socket_, {"type": "end"})
        assert ended["type"] == "ended" and ended["data"]["summary"]["state"] == "ended"
        await messages_until_closed(socket_)
        assert socket_.close_code == 1000
    async with httpx.AsyncClient(base_url=live.http) as http:
        status = (await http.get(f"/api/v1/interview/{session_id}/status")).json()
    assert status["state"] == "ended"
    await eventually(lambda: not live.socket_tasks())

    # An ended session can still be looked at, but it takes no more questions.
    async with interview_socket(live, f"session_id={session_id}") as socket_:
        assert (await receive(socket_))["data"]["state"] == "ended"
        error = await request(socket_, {"type": "start"})
        assert error["data"]["code"] == "session_finished"
        await assert_alive(socket_)


async def test_an_idle_socket_gets_a_heartbeat(make_settings: SettingsFactory) -> None:
    async with serve_app(make_settings(ws_heartbeat_s=0.3)) as live, interview_socket(live) as socket_:
        await receive(socket_)
        heartbeat = await asyncio.wait_for(receive(socket_), 3)
        assert heartbeat["type"] == "ping" and isinstance(heartbeat["data"]["timestamp"], int)
        # A client may answer the heartbeat; the answer itself gets no reply.
        await socket_.send(json.dumps({"type": "pong", "data": heartbeat["data"]}))
        await assert_alive(socket_)


async def test_gone_and_silent_peers_are_cleaned_up_and_keep_their_session(live: Live) -> None:
    # A peer that goes away without a closing handshake.
    async with interview_socket(live) as socket_:
        session_id = (await receive(socket_))["data"]["session_id"]
        await eventually(lambda: connection_tasks_running(live))
        assert socket_.transport is not None
        socket_.transport.abort()
    await eventually(lambda: not live.socket_tasks())

    # A peer that completes the handshake and then never answers a protocol ping.
    host, port = live.http.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {PATH}?session_id={session_id} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        await eventually(lambda: connection_tasks_running(live))
        await eventually(lambda: not live.socket_tasks(), timeout_s=10 * KEEPALIVE_S)
    finally:
        # Closed even when a check fails: left to the GC, the socket is reported in a later test.
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async with httpx.AsyncClient(base_url=live.http) as http:
        status = (await http.get(f"/api/v1/interview/{session_id}/status")).json()
    assert status["state"] == "in_progress", "a dropped socket does not end the session"
