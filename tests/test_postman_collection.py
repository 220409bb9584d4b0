"""The Postman collection covers every API path and chains requests through variables."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx

from live_server import server_process
from npm_tools import npm_bin

COLLECTION = Path(__file__).resolve().parents[1] / "docs" / "postman_collection.json"


def _items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in items:
        found.extend(_items(item["item"]) if "item" in item else [item])
    return found


def _requests(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item["request"] for item in _items(items)]


def _as_template(raw_url: str) -> str:
    path = raw_url.removeprefix("{{base_url}}")
    return re.sub(r"\{\{(\w+)\}\}", "{}", path)


async def test_every_api_path_is_in_the_collection(client: httpx.AsyncClient) -> None:
    collection = json.loads(COLLECTION.read_text())
    requests = _requests(collection["item"])
    covered = {(r["method"], _as_template(r["url"]["raw"])) for r in requests}
    spec = (await client.get("/openapi.json")).json()
    expected = {
        (method.upper(), re.sub(r"\{\w+\}", "{}", path))
        for path, operations in spec["paths"].items()
        for method in operations
    }
    expected |= {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/redoc")}
    missing = expected - covered
    assert not missing, f"add these to docs/postman_collection.json: {sorted(missing)}"


def test_collection_chains_the_session() -> None:
    collection = json.loads(COLLECTION.read_text())
    variables = {v["key"] for v in collection["variable"]}
    assert {"base_url", "session_id"} <= variables
    requests = _requests(collection["item"])
    assert all(r["url"]["raw"].startswith("{{base_url}}") for r in requests)
    text = COLLECTION.read_text()
    assert "pm.collectionVariables.set('session_id'" in text
    assert sum("{{session_id}}" in r["url"]["raw"] for r in requests) >= 4
    answer = next(i["request"] for i in _items(collection["item"]) if i["name"] == "Submit answer")
    assert '"question_id": {{question_id}}' in answer["body"]["raw"]
    assert "postman.setNextRequest('Question audio')" in text


def test_newman_runs_a_whole_interview_with_every_request_asserted(tmp_path: Path, model_dir: Path) -> None:
    newman = npm_bin("newman")
    report = tmp_path / "newman.json"
    with server_process(tmp_path / "data", model_dir) as base:
        total = httpx.get(f"{base}/api/v1/interview/info").json()["total_questions"]
        run = subprocess.run(
            [newman, "run", str(COLLECTION), "--env-var", f"base_url={base}", "--working-dir", str(COLLECTION.parent),
             "--reporters", "cli,json", "--reporter-json-export", str(report), "--color", "off", "--timeout-request", "60000"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    executions = json.loads(report.read_text())["run"]["executions"]
    unasserted = [e["item"]["name"] for e in executions if not e.get("assertions")]
    assert not unasserted, f"requests without a check: {unasserted}"
    failed = [
        (e["item"]["name"], a["assertion"]) for e in executions for a in e["assertions"] if a.get("error")
    ]
    assert not failed, failed
    names = [e["item"]["name"] for e in executions]
    # The loop ran the whole interview: one answer and one audio fetch per question.
    assert names.count("Submit answer") == total
    assert names.count("Question audio") == total
    assert names[-1] == "Delete an unknown bank (404)"
    assert set(names) == {r["name"] for r in _items(json.loads(COLLECTION.read_text())["item"])}
