"""Custom banks over HTTP: validation with lines, versions kept by sessions, in-use deletes, admin keys."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from conftest import RunningApp, SettingsFactory
from plan_checks import open_planned_app

YAML = {"content-type": "application/yaml"}


def bank_yaml(technical: str) -> str:
    return f"""\
name: Team bank
questions:
  - {{id: 1, type: introduction, text: "Introduce yourself, please."}}
  - {{id: 2, type: technical, text: "{technical}", roles: [backend], skills: [postgresql]}}
  - {{id: 3, type: behavioral, text: "Tell me about a hard bug you fixed."}}
  - {{id: 4, type: situational, text: "The build is red before a release. What now?"}}
  - {{id: 9, type: closing, text: "Anything you want to ask us?"}}
"""


@pytest.fixture
async def running_banks(make_settings: SettingsFactory) -> AsyncIterator[RunningApp]:
    async for running in open_planned_app(make_settings):
        yield running


async def test_banks_are_versioned_and_sessions_keep_theirs(running_banks: RunningApp) -> None:
    client = running_banks.client
    created = await client.post(
        "/api/v1/banks?bank_id=team", content=bank_yaml("How do indexes work?"), headers=YAML
    )
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["question_count"] == 5
    assert created.json()["roles"] == ["backend"], "roles borrowed from the library's vocabulary"
    again = await client.post("/api/v1/banks?bank_id=team", content=bank_yaml("x?"), headers=YAML)
    assert again.status_code == 409 and again.json()["code"] == "bank_exists"

    options = {"bank_id": "team", "num_questions": 5, "seed": 1}
    old = (await client.post("/api/v1/interview/start", json=options)).json()
    old_session = await running_banks.container.interviews.status(old["session_id"])
    assert old_session.bank_id == "team" and old_session.bank_version == 1
    assert {q.question.id for q in old_session.questions} == {1, 2, 3, 4, 9}

    deleted = await client.delete("/api/v1/banks/team")
    assert deleted.status_code == 409 and deleted.json()["code"] == "bank_in_use"
    replaced = await client.put("/api/v1/banks/team", content=bank_yaml("How does MVCC work?"), headers=YAML)
    assert replaced.status_code == 200 and replaced.json()["version"] == 2
    new = (await client.post("/api/v1/interview/start", json=options)).json()
    new_session = await running_banks.container.interviews.status(new["session_id"])
    assert new_session.bank_version == 2
    texts = {q.question.id: q.question.text for q in new_session.questions}
    assert texts[2] == "How does MVCC work?"
    kept = await running_banks.container.interviews.status(old["session_id"])
    assert {q.question.id: q.question.text for q in kept.questions}[2] == "How do indexes work?"

    listed = (await client.get("/api/v1/banks")).json()["banks"]
    assert [(b["bank_id"], b["version"]) for b in listed] == [("team", 2)]
    one = (await client.get("/api/v1/banks/team")).json()
    assert one["content"] == bank_yaml("How does MVCC work?") and one["name"] == "Team bank"

    for session in (old, new):
        await client.delete(f"/api/v1/interview/{session['session_id']}")
    assert (await client.delete("/api/v1/banks/team")).status_code == 204
    assert (await client.get("/api/v1/banks/team")).json()["code"] == "bank_not_found"
    gone = await client.post("/api/v1/interview/plan", json=options)
    assert gone.status_code == 422 and "bank_id" in gone.text


async def test_an_upload_with_errors_lists_every_problem_with_its_line(running_banks: RunningApp) -> None:
    broken = (
        bank_yaml("Why?")
        .replace("type: behavioral", "type: chatty")
        .replace("roles: [backend]", "roles: [pilot]")
    )
    response = await running_banks.client.put("/api/v1/banks/team", content=broken, headers=YAML)
    assert response.status_code == 422 and response.json()["code"] == "invalid_bank"
    problems = response.json()["detail"]
    assert problems == [
        "line 4: questions[1].roles[0]: unknown role 'pilot'; define it under 'roles'",
        "line 5: questions[2].type: must be one of introduction, behavioral, situational, technical, closing",
    ]
    no_closing = bank_yaml("Why?").replace("type: closing", "type: behavioral")
    response = await running_banks.client.put("/api/v1/banks/team", content=no_closing, headers=YAML)
    assert response.status_code == 422 and "closing" in response.json()["detail"][0]
    binary = await running_banks.client.put("/api/v1/banks/team", content=b"\x00\x01\x02", headers=YAML)
    assert binary.status_code == 422 and binary.json()["detail"] == [
        "the upload is a binary file, not a YAML or JSON text"
    ]
    wrong_type = await running_banks.client.put(
        "/api/v1/banks/team", content=b"x", headers={"content-type": "image/png"}
    )
    assert wrong_type.status_code == 415
    bad_id = await running_banks.client.put("/api/v1/banks/Team!", content=bank_yaml("Why?"), headers=YAML)
    assert bad_id.status_code == 422
    assert (await running_banks.client.get("/api/v1/banks")).json()["banks"] == []


async def test_json_banks_are_accepted(running_banks: RunningApp) -> None:
    import yaml

    document = json.dumps(yaml.safe_load(bank_yaml("What is a WAL?")), indent=2)
    response = await running_banks.client.post(
        "/api/v1/banks", content=document, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201 and response.json()["format"] == "json"
    assert response.json()["bank_id"].startswith("bank-")


async def test_admin_keys_guard_banks_apart_from_candidate_keys(make_settings: SettingsFactory) -> None:
    async for app in open_planned_app(
        make_settings, api_keys="candidate-key-1234567890", admin_api_keys="admin-key-1234567890"
    ):
        client = app.client
        admin = {"Authorization": "Bearer admin-key-1234567890"}
        candidate = {"Authorization": "Bearer candidate-key-1234567890"}
        assert (await client.get("/api/v1/banks")).status_code == 401
        assert (await client.get("/api/v1/banks", headers=candidate)).status_code == 401
        assert (await client.get("/api/v1/banks", headers=admin)).status_code == 200
        put = await client.put("/api/v1/banks/team", content=bank_yaml("Why?"), headers={**YAML, **admin})
        assert put.status_code == 200
        assert (await client.post("/api/v1/interview/start", headers=admin)).status_code == 401
        started = await client.post("/api/v1/interview/start", json={"bank_id": "team"}, headers=candidate)
        assert started.status_code == 200 and started.json()["total_questions"] == 5
