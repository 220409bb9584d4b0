"""Hostile request bodies: streamed past the limit, non-finite numbers, lone surrogates, bad UTF-8, deep JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from live_server import server_process

JSON = {"content-type": "application/json"}
# The longest excerpt of the input a validation error may carry back.
MAX_ECHO_CHARS = 200


async def _start(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/v1/interview/start")
    assert response.status_code == 200
    session_id: str = response.json()["session_id"]
    return session_id


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"question_id": 1, "answer_text": "'
    sent = 0
    while sent < total:
        yield b"z" * size
        sent += size
    yield b'"}'


async def test_a_chunked_body_past_the_limit_is_413(client: httpx.AsyncClient) -> None:
    session_id = await _start(client)

    async def body() -> Any:
        for chunk in _chunks(3_000_000):
            yield chunk

    response = await client.post(f"/api/v1/interview/{session_id}/answer", content=body(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text[:300]
    assert response.json()["code"] == "payload_too_large"
    assert len(response.content) < 500


def test_a_chunked_20_mb_body_is_refused_without_growing_the_server(tmp_path: Path, model_dir: Path) -> None:
    with server_process(tmp_path / "data", model_dir, LOOKAHEAD="false") as base:
        server = _server_pid()
        session_id = httpx.post(f"{base}/api/v1/interview/start", timeout=30).json()["session_id"]
        url = f"{base}/api/v1/interview/{session_id}/answer"
        with httpx.Client(timeout=60) as http:
            # Warm up the request path once so the first request's lazy imports do not count.
            http.post(url, content=iter([b"{}"]), headers=JSON)
            before = psutil.Process(server).memory_info().rss
            response = http.post(url, content=_chunks(20_000_000), headers=JSON)
            after = psutil.Process(server).memory_info().rss
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        assert len(response.content) < 500
        assert after - before < 8 * 1024 * 1024, (before, after)


def _server_pid() -> int:
    """The `python main.py` this test started (the only such child of the test process)."""
    servers = [p for p in psutil.Process().children() if "main.py" in " ".join(p.cmdline())]
    assert len(servers) == 1, servers
    return servers[0].pid


@pytest.mark.parametrize(
    "raw",
    [
        b'{"question_id": NaN, "answer_text": "hello"}',
        b'{"question_id": Infinity, "answer_text": "hello"}',
        b'{"question_id": -Infinity, "answer_text": "hello"}',
        b'{"question_id": 1e400, "answer_text": "hello"}',
        b'{"question_id": 1, "answer_text": "\\ud800"}',
        b'{"question_id": 1, "answer_text": "before \\udfff after"}',
        b'{"question_id": "\\ud800", "answer_text": "hello"}',
        b'{"question_id": 1, "answer_text": NaN}',
    ],
    ids=lambda raw: raw.decode(),
)
async def test_non_finite_numbers_and_lone_surrogates_are_422(client: httpx.AsyncClient, raw: bytes) -> None:
    session_id = await _start(client)
    response = await client.post(f"/api/v1/interview/{session_id}/answer", content=raw, headers=JSON)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    status = (await client.get(f"/api/v1/interview/{session_id}/status")).json()
    assert status["answers_recorded"] == 0


async def test_a_valid_surrogate_pair_is_an_ordinary_answer(client: httpx.AsyncClient) -> None:
    session_id = await _start(client)
    raw = b'{"question_id": 1, "answer_text": "I like \\ud83d\\ude00 emoji"}'
    response = await client.post(f"/api/v1/interview/{session_id}/answer", content=raw, headers=JSON)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "raw",
    [b'{"question_id": 1, "answer_text": "caf\xe9"}', b'{"question_id": 1, "answer_text": "\xc3\x28"}'],
    ids=["latin-1", "broken-sequence"],
)
async def test_invalid_utf8_is_400_invalid_encoding(client: httpx.AsyncClient, raw: bytes) -> None:
    session_id = await _start(client)
    response = await client.post(f"/api/v1/interview/{session_id}/answer", content=raw, headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_encoding"


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
async def test_over_deep_json_is_400_json_too_deep(client: httpx.AsyncClient, opener: bytes) -> None:
    session_id = await _start(client)
    raw = b'{"question_id": 1, "answer_text": ' + opener * 50_000 + b"1" + b"}" * 50_000
    response = await client.post(f"/api/v1/interview/{session_id}/answer", content=raw, headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "json_too_deep"
    start = await client.post("/api/v1/interview/start", content=opener * 50_000, headers=JSON)
    assert start.status_code == 400 and start.json()["code"] == "json_too_deep"


@pytest.mark.parametrize(
    "body",
    [
        {"question_id": "9" * 500_000, "answer_text": "hello"},
        {"question_id": 1, "answer_text": "q" * 900_000},
        {"question_id": ["x" * 1000] * 500, "answer_text": "hello"},
        {"question_id": {"k" * 10: "v" * 100_000}, "answer_text": "hello"},
    ],
    ids=["long-string-id", "long-answer", "long-list", "big-object"],
)
async def test_validation_errors_echo_only_a_short_excerpt(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    session_id = await _start(client)
    response = await client.post(f"/api/v1/interview/{session_id}/answer", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "validation_error"
    for problem in payload["detail"]:
        assert len(json.dumps(problem.get("input"))) <= MAX_ECHO_CHARS
    assert len(response.content) < 2000


async def test_the_openapi_documents_the_body_error_codes(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    answer = schema["paths"]["/api/v1/interview/{session_id}/answer"]["post"]["responses"]
    assert {"400", "413", "422"} <= set(answer)
    assert "invalid_encoding" in answer["400"]["description"]
    assert "json_too_deep" in answer["400"]["description"]
    assert "payload_too_large" in answer["413"]["description"]
