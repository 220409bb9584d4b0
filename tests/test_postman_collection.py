"""The Postman collection covers every API path and chains requests through variables."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

COLLECTION = Path(__file__).resolve().parents[1] / "docs" / "postman_collection.json"


def _requests(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in items:
        found.extend(_requests(item["item"]) if "item" in item else [item["request"]])
    return found


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
    answer = next(r for r in requests if r["url"]["raw"].endswith("/answer"))
    assert '"question_id": {{question_id}}' in answer["body"]["raw"]
