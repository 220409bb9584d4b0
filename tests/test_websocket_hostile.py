"""Hostile WebSocket messages: non-finite numbers, lone surrogates, deep JSON; every reply is valid JSON."""

from __future__ import annotations

import asyncio
import json

import pytest

from live_server import Live
from test_websocket import RECEIVE_TIMEOUT_S, assert_alive, interview_socket, live, receive

__all__ = ["live"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "ping", "data": {"timestamp": NaN}}',
        '{"type": "ping", "data": {"timestamp": Infinity}}',
        '{"type": "ping", "data": {"timestamp": -Infinity}}',
        '{"type": "ping", "data": {"timestamp": 1e400}}',
        '{"type": "ping", "data": {"timestamp": "\\ud800"}}',
        '{"type": "ping", "data": {"\\udfff": 1}}',
        '{"type": "answer", "data": {"question_id": 1, "answer_text": "\\ud800"}}',
        '{"type": "answer", "data": {"question_id": NaN, "answer_text": "hello"}}',
        '{"type": "answer", "data": {"question_id": 1e400, "answer_text": "hello"}}',
    ],
)
async def test_non_finite_numbers_and_lone_surrogates_get_validation_error(live: Live, raw: str) -> None:
    async with interview_socket(live) as socket_:
        info = await receive(socket_)
        assert info["type"] == "session_info"
        await socket_.send(raw)
        text = await asyncio.wait_for(socket_.recv(), RECEIVE_TIMEOUT_S)
        assert isinstance(text, str)
        reply = json.loads(text, parse_constant=_refuse_constant)
        assert reply["type"] == "error", reply
        assert reply["data"]["code"] == "validation_error"
        assert text.encode("utf-8")
        await assert_alive(socket_)


async def test_over_deep_json_gets_json_too_deep(live: Live) -> None:
    async with interview_socket(live) as socket_:
        await receive(socket_)
        await socket_.send('{"type": "ping", "data": {"x": ' + "[" * 50_000 + "]" * 50_000 + "}}")
        reply = await receive(socket_)
        assert reply["type"] == "error" and reply["data"]["code"] == "json_too_deep"
        await assert_alive(socket_)


async def test_a_valid_surrogate_pair_is_answered(live: Live) -> None:
    async with interview_socket(live) as socket_:
        await receive(socket_)
        await socket_.send('{"type": "ping", "data": {"timestamp": "\\ud83d\\ude00"}}')
        reply = await receive(socket_)
        assert reply == {"type": "pong", "data": {"timestamp": "\U0001f600"}}


def _refuse_constant(name: str) -> None:
    raise AssertionError(f"the server sent {name}, which is not JSON")
