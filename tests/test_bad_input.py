"""Every bad request gets a clear 4xx with a stable code; none corrupts a session or yields a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest


async def _start(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/v1/interview/start")
    assert response.status_code == 200
    session_id: str = response.json()["session_id"]
    return session_id


async def _status(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/api/v1/interview/{session_id}/status")).json()
    return body


async def test_start_accepts_empty_body_without_content_type(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/interview/start", content=b"")
    assert response.status_code == 200
    assert "content-type" not in response.request.headers
    assert response.json()["state"] == "in_progress"


async def test_start_accepts_json_options_and_names_unknown_ones(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/interview/start", json={"num_questions": 4, "seed": 1})
    assert response.status_code == 200 and response.json()["total_questions"] == 4
    # A misspelt option must not silently do nothing.
    response = await client.post("/api/v1/interview/start", json={"future_option": True})
    assert response.status_code == 422 and "future_option" in response.text
    response = await client.post("/api/v1/interview/start", json={"feedback": "each", "follow_ups": False})
    assert response.status_code == 200


async def test_start_rejects_malformed_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/interview/start", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question_id": 1, "answer_text": ""}, "answer_text"),
        ({"question_id": 1, "answer_text": "   \n\t "}, "answer_text"),
        ({"question_id": 1, "answer_text": "x" * 10_001}, "answer_text"),
        ({"question_id": 1}, "answer_text"),
        ({"answer_text": "hello"}, "question_id"),
        ({"question_id": "1", "answer_text": "hello"}, "question_id"),
        ({"question_id": 1.5, "answer_text": "hello"}, "question_id"),
        ({"question_id": True, "answer_text": "hello"}, "question_id"),
        ({"question_id": 0, "answer_text": "hello"}, "question_id"),
        ({"question_id": 1, "answer_text": 42}, "answer_text"),
        ({"question_id": 1, "answer_text": None}, "answer_text"),
    ],
)
async def test_invalid_answer_bodies_are_422(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    session_id = await _start(client)
    response = await client.post(f"/api/v1/interview/{session_id}/answer", json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["code"] == "validation_error"
    assert any(problem["loc"][-1] == field for problem in payload["detail"])
    assert all(problem["msg"] for problem in payload["detail"])
    assert (await _status(client, session_id))["answers_recorded"] == 0


@pytest.mark.parametrize(
    "raw", [b"{", b"[1, 2]", b"null", b"\xff\xfe", b'{"question_id": 1, "answer_text": "a"'], ids=repr
)
async def test_malformed_answer_payloads_are_422(client: httpx.AsyncClient, raw: bytes) -> None:
    session_id = await _start(client)
    response = await client.post(
        f"/api/v1/interview/{session_id}/answer", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] in {"invalid_json", "validation_error"}
    assert (await _status(client, session_id))["answers_recorded"] == 0


async def test_answer_at_exactly_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    session_id = await _start(client)
    response = await client.post(
        f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": "y" * 10_000}
    )
    assert response.status_code == 200


async def test_wrong_question_id_is_409_and_changes_nothing(client: httpx.AsyncClient) -> None:
    session_id = await _start(client)
    response = await client.post(
        f"/api/v1/interview/{session_id}/answer", json={"question_id": 3, "answer_text": "Skipping ahead."}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "wrong_question"
    assert "Question 1 is the current question" in body["detail"]
    assert (await _status(client, session_id))["current_question"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/interview/session_doesnotexist/question"),
        ("GET", "/api/v1/interview/session_doesnotexist/status"),
        ("DELETE", "/api/v1/interview/session_doesnotexist"),
    ],
)
async def test_unknown_session_is_404(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert response.status_code == 404
    assert response.json()["code"] == "session_not_found"
    assert "session_doesnotexist" in response.json()["detail"]


async def test_answer_to_unknown_session_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/interview/session_nope/answer", json={"question_id": 1, "answer_text": "Hello."}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "session_not_found"


async def test_answering_an_ended_session_is_409(client: httpx.AsyncClient) -> None:
    session_id = await _start(client)
    assert (await client.delete(f"/api/v1/interview/{session_id}")).status_code == 200
    response = await client.post(
        f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": "Too late."}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "session_finished"
    question = await client.get(f"/api/v1/interview/{session_id}/question")
    assert question.status_code == 409 and question.json()["code"] == "session_finished"
    again = await client.delete(f"/api/v1/interview/{session_id}")
    assert again.status_code == 200 and again.json()["summary"]["state"] == "ended"


async def test_answering_a_completed_session_is_409_except_an_identical_resend(
    client: httpx.AsyncClient,
) -> None:
    session_id = await _start(client)
    last: dict[str, Any] = {}
    for question_id in range(1, 11):
        last = {"question_id": question_id, "answer_text": f"Answer {question_id}."}
        response = await client.post(f"/api/v1/interview/{session_id}/answer", json=last)
        assert response.status_code == 200
    assert response.json()["type"] == "complete"
    resent = await client.post(f"/api/v1/interview/{session_id}/answer", json=last)
    assert resent.status_code == 200 and resent.json()["type"] == "complete"
    other = await client.post(
        f"/api/v1/interview/{session_id}/answer", json={"question_id": 10, "answer_text": "A new answer."}
    )
    assert other.status_code == 409
    assert other.json()["code"] == "session_finished"


async def test_unknown_route_and_wrong_method_keep_the_error_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found", "code": "not_found"}
    wrong = await client.put("/api/v1/interview/start")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    session_id = await _start(client)
    response = await client.post(
        f"/api/v1/interview/{session_id}/answer",
        content=b'{"question_id": 1, "answer_text": "' + b"z" * 2_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
