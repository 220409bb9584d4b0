"""Practice mode over the WebSocket: `feedback` as each evaluation lands, `report_ready` at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from conftest import SettingsFactory
from live_server import serve_app

BANK = (
    '[{"id": 1, "type": "introduction", "text": "Tell me about yourself."},'
    ' {"id": 2, "type": "closing", "text": "What would you like to ask us?"}]'
)


async def next_of(socket_: ClientConnection, kinds: set[str]) -> dict[str, Any]:
    """The next message of one of `kinds`, skipping pings and other pushes."""
    while True:
        message: dict[str, Any] = json.loads(await socket_.recv(decode=True))
        if message["type"] in kinds:
            return message


async def test_practice_mode_pushes_feedback_then_report_ready(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    bank = tmp_path / "bank.json"
    bank.write_text(BANK)
    async with serve_app(make_settings(question_bank=bank)) as live:
        async with httpx.AsyncClient(base_url=live.http) as client:
            started = await client.post("/api/v1/interview/start", json={"feedback": "each"})
        session_id = started.json()["session_id"]
        async with connect(live.url(f"session_id={session_id}"), max_size=8 * 1024 * 1024) as socket_:
            await next_of(socket_, {"session_info"})
            await socket_.send(json.dumps({"type": "start"}))
            assert (await next_of(socket_, {"question"}))["data"]["question_id"] == 1
            answer = "I build backend services in Python for a logistics company, and I want to grow here."
            await socket_.send(
                json.dumps({"type": "answer", "data": {"question_id": 1, "answer_text": answer}})
            )
            feedback = await next_of(socket_, {"feedback"})
            assert feedback["data"]["question_id"] == 1 and feedback["data"]["status"] == "ready"
            assert all(q in answer for c in feedback["data"]["criteria"] for q in c["evidence"])
            await socket_.send(
                json.dumps(
                    {"type": "answer", "data": {"question_id": 2, "answer_text": "How is on-call shared?"}}
                )
            )
            ready = await next_of(socket_, {"report_ready"})
            assert ready["data"]["report_url"].endswith(f"/api/v1/interview/{session_id}/report")
            assert ready["data"]["overall"] is not None


async def test_without_practice_mode_only_report_ready_is_pushed(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    bank = tmp_path / "bank.json"
    bank.write_text(BANK)
    async with serve_app(make_settings(question_bank=bank)) as live:  # noqa: SIM117 (the URL comes from the first)
        async with connect(live.url(), max_size=8 * 1024 * 1024) as socket_:
            await next_of(socket_, {"session_info"})
            seen: list[str] = []
            for question_id in (1, 2):
                await socket_.send(
                    json.dumps(
                        {"type": "answer", "data": {"question_id": question_id, "answer_text": "Yes."}}
                    )
                )
            while True:
                message = json.loads(await socket_.recv(decode=True))
                seen.append(message["type"])
                if message["type"] == "report_ready":
                    break
            assert "feedback" not in seen
