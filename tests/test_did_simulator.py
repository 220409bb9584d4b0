"""The D-ID simulator speaks D-ID's API faithfully: paths, auth, JSON shapes, ids, lifecycle, credits,
presenters, presigned links, real media, and each fault in the shape the real service sends it."""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from did_fixtures import did_sim, envelope_correlation, probe, tone_mp3
from interviewai.deadlines import deadline
from interviewai.simulators.did import (
    AMBER_ID,
    DEFAULT_API_KEY,
    PRESENTERS,
    DidFault,
    DidSimulator,
    add_arguments,
)

__all__ = ["did_sim"]  # fixtures

HELLO = {"presenter_id": AMBER_ID, "script": {"type": "text", "input": "Hello there."}}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
async def api(did_sim: DidSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client with the key as D-ID documents it: ``Basic <key as given>``."""
    headers = {"Authorization": f"Basic {did_sim.api_key}"}
    async with httpx.AsyncClient(base_url=did_sim.url, headers=headers, timeout=5.0) as client:
        yield client


async def _until(
    api: httpx.AsyncClient, clip_id: str, *statuses: str, timeout_s: float = 5.0
) -> dict[str, Any]:
    ends = time.monotonic() + timeout_s
    while True:
        clip: dict[str, Any] = (await api.get(f"/clips/{clip_id}")).json()
        if clip["status"] in statuses or time.monotonic() > ends:
            return clip
        await asyncio.sleep(0.02)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# -- auth and routing -------------------------------------------------------------------------------


async def test_auth_accepts_the_key_as_given_and_base64_encoded(did_sim: DidSimulator) -> None:
    async with httpx.AsyncClient(base_url=did_sim.url) as client:

        async def credits(authorization: str | None) -> httpx.Response:
            headers = {"Authorization": authorization} if authorization else {}
            return await client.get("/credits", headers=headers)

        assert (await credits(f"Basic {did_sim.api_key}")).status_code == 200
        encoded = base64.b64encode(did_sim.api_key.encode()).decode()
        assert (await credits(f"Basic {encoded}")).status_code == 200
        for wrong in (None, "Basic d3Jvbmc=:secret", f"Bearer {did_sim.api_key.split(':')[1]}", "Basic"):
            refused = await credits(wrong)
            assert refused.status_code == 401
            assert refused.json() == {"kind": "AuthorizationError", "description": "user unauthenticated"}
        unmapped = await client.get("/v1/clips", headers={"Authorization": f"Basic {did_sim.api_key}"})
        assert (unmapped.status_code, unmapped.json()) == (403, {"message": "Missing Authentication Token"})
    assert did_sim.api_key == DEFAULT_API_KEY


# -- POST /clips validation ---------------------------------------------------------------------------

INVALID_CLIPS = [
    ({"presenter_id": AMBER_ID}, "BadRequestError"),
    ({**HELLO, "script": {"type": "text", "input": "Hi"}}, "BadRequestError"),
    ({**HELLO, "script": {"type": "audio", "audio_url": "http://example.com/a.mp3"}}, "BadRequestError"),
    ({**HELLO, "script": {"type": "audio", "audio_url": "https://example.com/a.ogg"}}, "BadRequestError"),
    (
        {**HELLO, "script": {"type": "text", "input": "Hello", "provider": {"type": "microsoft"}}},
        "BadRequestError",
    ),
    ({**HELLO, "persist": True}, "BadRequestError"),
    ({**HELLO, "presenter_id": "amber-0000000000"}, "BadRequestError"),
    ({**HELLO, "driver_id": "9o3E6z8MPD"}, "DriverNotValidError"),
    ({**HELLO, "config": {"result_format": "gif"}}, "BadRequestError"),
    ({**HELLO, "config": {"output_resolution": 4000}}, "BadRequestError"),
    ({**HELLO, "webhook": "http://example.com/hook"}, "BadRequestError"),
    ({**HELLO, "background": {"color": False}}, "BadRequestError"),
    ({**HELLO, "script": {"type": "text", "input": "Hello", "ssml": "maybe"}}, "BadRequestError"),
]


@pytest.mark.parametrize(("body", "kind"), INVALID_CLIPS)
async def test_invalid_clips_are_refused_with_d_ids_envelope(
    did_sim: DidSimulator, api: httpx.AsyncClient, body: dict[str, Any], kind: str
) -> None:
    response = await api.post("/clips", json=body)
    assert response.status_code == 400
    assert response.json()["kind"] == kind
    assert isinstance(response.json()["description"], str)
    assert did_sim.clips_created == 0
    assert did_sim.credits_remaining == did_sim.credits_total


async def test_string_booleans_and_optional_fields_are_accepted(api: httpx.AsyncClient) -> None:
    body = {
        **HELLO,
        "driver_id": "OUM7xZOuD5",
        "script": {"type": "text", "input": "Hello there.", "ssml": "false", "subtitles": "false"},
        "config": {"result_format": "mp4", "output_resolution": 256},
        "background": {"color": "#203040"},
        "user_data": "question-3",
        "name": "q3",
        "webhook": "https://example.com/hook?token=x",
    }
    created = await api.post("/clips", json=body)
    assert created.status_code == 201
    clip = await _until(api, created.json()["id"], "done")
    assert (clip["user_data"], clip["name"], clip["webhook"]) == ("question-3", "q3", body["webhook"])
    assert clip["metadata"]["resolution"] == [256, 256]


# -- lifecycle ----------------------------------------------------------------------------------------


async def test_a_clip_goes_created_started_done_with_d_ids_fields() -> None:
    async with DidSimulator(queue_delay_s=0.3, render_factor=0.4) as sim:
        headers = {"Authorization": f"Basic {sim.api_key}"}
        async with httpx.AsyncClient(base_url=sim.url, headers=headers) as api:
            created = await api.post("/clips", json=HELLO)
            assert created.status_code == 201
            body = created.json()
            assert set(body) == {"id", "object", "created_at", "status"}
            assert (body["object"], body["status"]) == ("clip", "created")
            assert re.fullmatch(r"clp_[A-Za-z0-9_-]{21}", body["id"])
            assert ISO_MS.fullmatch(body["created_at"])

            seen: list[str] = []
            while not seen or seen[-1] != "done":
                clip = (await api.get(f"/clips/{body['id']}")).json()
                if not seen or seen[-1] != clip["status"]:
                    seen.append(clip["status"])
                if clip["status"] != "done":
                    assert clip["pending_url"].startswith("s3://d-id-clips-prod/")  # not the result
                    assert "result_url" not in clip
                await asyncio.sleep(0.03)
    assert seen == ["created", "started", "done"]
    assert clip["owner_id"] == clip["created_by"] and clip["owner_id"].startswith("google-oauth2|")
    assert (clip["presenter_id"], clip["driver_id"]) == (AMBER_ID, "OUM7xZOuD5")
    created_at, started_at, completed_at = (
        _epoch(clip[k]) for k in ("created_at", "started_at", "completed_at")
    )
    assert created_at + 0.25 <= started_at <= completed_at
    assert completed_at - started_at >= 0.4 * clip["duration"] - 0.05
    assert "pending_url" not in clip and "error" not in clip
    assert clip["config"] == {"result_format": ".mp4"}
    assert set(clip["metadata"]) == {"num_frames", "processing_fps", "resolution", "size_kib"}
    assert clip["source_url"].endswith("/thumbnail.png")
    expires_match = re.search(r"[?&]Expires=(\d+)", clip["result_url"])
    assert expires_match is not None
    expires = int(expires_match.group(1))
    assert abs(expires - (completed_at + 86400)) <= 1  # valid 24 h from completion, as D-ID
    assert "AWSAccessKeyId=" in clip["result_url"] and "Signature=" in clip["result_url"]
    assert "Expires=" in clip["audio_url"]


async def test_a_stuck_clip_stays_started(did_sim: DidSimulator, api: httpx.AsyncClient) -> None:
    did_sim.set_fault("stuck", times=1)
    clip_id = (await api.post("/clips", json=HELLO)).json()["id"]
    assert (await _until(api, clip_id, "started"))["status"] == "started"
    await asyncio.sleep(0.3)
    clip = (await api.get(f"/clips/{clip_id}")).json()
    assert clip["status"] == "started" and "result_url" not in clip
    assert did_sim.fault is DidFault.NONE  # healed after one clip


# -- audio upload and real media --------------------------------------------------------------------


async def test_audio_upload_returns_d_ids_s3_url(did_sim: DidSimulator, api: httpx.AsyncClient) -> None:
    mp3 = tone_mp3(1.5)
    uploaded = await api.post("/audios", files={"audio": ("My Answer #1.mp3", mp3, "audio/mpeg")})
    assert uploaded.status_code == 201
    body = uploaded.json()
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}", body["id"])
    assert (
        body["url"] == f"s3://d-id-audios-prod/google-oauth2|104729663412954736127/{body['id']}/MyAnswer1.wav"
    )
    assert abs(body["duration"] - 1.5) <= 0.1
    (recorded,) = did_sim.api_requests("POST", "/audios")
    assert recorded.files["audio"].data == mp3

    wrong_type = await api.post("/audios", files={"audio": ("a.txt", b"hello", "text/plain")})
    assert wrong_type.status_code == 415
    assert wrong_type.json()["kind"] == "UnsupportedMimeTypeError"
    assert wrong_type.json()["details"] == {"received": "text/plain", "supported": ["audio/", "video/"]}
    not_audio = await api.post("/audios", files={"audio": ("a.mp3", b"\x00" * 64, "audio/mpeg")})
    assert (not_audio.status_code, not_audio.json()["kind"]) == (400, "BadRequestError")
    missing = await api.post("/audios", files={"other": ("a.mp3", mp3, "audio/mpeg")})
    assert (missing.status_code, missing.json()["kind"]) == (400, "BadRequestError")


@pytest.mark.parametrize(
    ("result_format", "container", "codecs"),
    [("mp4", "mov,mp4,m4a,3gp,3g2,mj2", ("h264", "aac")), ("webm", "matroska,webm", ("vp8", "opus"))],
)
async def test_results_are_playable_video_with_the_uploaded_audio(
    api: httpx.AsyncClient, result_format: str, container: str, codecs: tuple[str, str]
) -> None:
    mp3 = tone_mp3(2.0)
    url = (await api.post("/audios", files={"audio": ("tone.mp3", mp3, "audio/mpeg")})).json()["url"]
    body = {"presenter_id": AMBER_ID, "script": {"type": "audio", "audio_url": url}}
    body["config"] = {"result_format": result_format}
    clip = await _until(api, (await api.post("/clips", json=body)).json()["id"], "done")
    assert clip["status"] == "done"
    async with httpx.AsyncClient() as anonymous:  # presigned: no Authorization needed
        video = (await anonymous.get(clip["result_url"])).raise_for_status().content
        audio = (await anonymous.get(clip["audio_url"])).raise_for_status()
    assert audio.headers["Content-Type"] == "audio/wav" and audio.content.startswith(b"RIFF")
    info = probe(video)
    assert info.format_name == container
    assert (info.video_codecs[0], info.audio_codecs[0]) == codecs
    assert abs(info.duration_s - clip["duration"]) <= 0.2
    assert abs(clip["duration"] - 2.0) <= 0.2
    assert info.video_frames == clip["metadata"]["num_frames"]
    assert envelope_correlation(mp3, video) > 0.9


# -- credits -------------------------------------------------------------------------------------------


async def test_credits_are_spent_per_clip_and_refunded_on_error(
    did_sim: DidSimulator, api: httpx.AsyncClient
) -> None:
    credits = (await api.get("/credits")).json()
    assert (credits["remaining"], credits["total"]) == (100, 100)
    (entry,) = credits["credits"]
    assert {"owner_id", "remaining", "total", "expire_at", "created_at", "modified_at"} <= set(entry)

    await _until(api, (await api.post("/clips", json=HELLO)).json()["id"], "done")
    assert (await api.get("/credits")).json()["remaining"] == 99

    did_sim.set_latency(queue_delay_s=0.3)  # still rendering when the credits are read
    for fault, final in (("error", "error"), ("rejected", "rejected")):
        did_sim.set_fault(fault, times=1)
        clip_id = (await api.post("/clips", json=HELLO)).json()["id"]
        assert (await api.get("/credits")).json()["remaining"] == 98
        clip = await _until(api, clip_id, final)
        assert clip["status"] == final and set(clip["error"]) == {"kind", "description"}
        assert (await api.get("/credits")).json()["remaining"] == 99

    did_sim.set_credits(0.5)
    refused = await api.post("/clips", json=HELLO)
    assert refused.status_code == 402
    assert refused.json() == {"kind": "InsufficientCreditsError", "description": "not enough credits"}
    did_sim.set_credits(10)
    did_sim.set_fault("no_credits402")
    assert (await api.get("/credits")).json()["remaining"] == 0
    assert (await api.post("/clips", json=HELLO)).status_code == 402


# -- presenters ----------------------------------------------------------------------------------------


async def test_presenters_list_amber_with_image_thumbnail_and_idle_video(api: httpx.AsyncClient) -> None:
    listed = (await api.get("/clips/presenters")).json()
    assert "token" not in listed
    assert [p["presenter_id"] for p in listed["presenters"]] == [p.presenter_id for p in PRESENTERS]
    one = (await api.get(f"/clips/presenters/{AMBER_ID}")).json()
    assert list(one) == ["presenters"]  # the same wrapper as the list, not a bare object
    (amber,) = one["presenters"]
    assert (amber["name"], amber["gender"], amber["driver_id"]) == ("Amber", "female", "OUM7xZOuD5")
    for field in ("presenter_id", "owner_id", "preview_url", "talking_preview_url", "modified_at"):
        assert amber[field]
    assert amber["idle_video"].endswith("/v2/Amber/0zSz8kflCN/OUM7xZOuD5/idle.mp4")

    async with httpx.AsyncClient() as cdn:  # public assets: no key
        idle = (await cdn.get(amber["idle_video"])).raise_for_status().content
        image = (await cdn.get(amber["image_url"])).raise_for_status().content
        thumbnail = (await cdn.get(amber["thumbnail_url"])).raise_for_status().content
    info = probe(idle)
    assert (info.video_codecs, info.audio_codecs) == (("h264",), ())
    assert abs(info.duration_s - 3.0) <= 0.1
    assert image.startswith(b"\x89PNG") and thumbnail.startswith(b"\x89PNG")
    assert probe_png_size(thumbnail) == (128, 128)

    missing = await api.get("/clips/presenters/v2_public_Nobody@0000000000")
    assert (missing.status_code, missing.json()["kind"]) == (404, "NotFoundError")
    first = (await api.get("/clips/presenters", params={"limit": 2})).json()
    assert len(first["presenters"]) == 2 and first["token"]
    rest = (await api.get("/clips/presenters", params={"limit": 2, "token": first["token"]})).json()
    assert len(rest["presenters"]) == 1 and "token" not in rest


def probe_png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# -- list, delete ---------------------------------------------------------------------------------------


async def test_list_and_delete_clips(did_sim: DidSimulator, api: httpx.AsyncClient) -> None:
    did_sim.set_fault("stuck", times=1)
    stuck = (await api.post("/clips", json=HELLO)).json()["id"]
    done = (await api.post("/clips", json=HELLO)).json()["id"]
    finished = await _until(api, done, "done")

    page = (await api.get("/clips", params={"limit": 1})).json()
    assert [c["id"] for c in page["clips"]] == [done] and page["token"] == done
    rest = (await api.get("/clips", params={"limit": 1, "token": page["token"]})).json()
    assert [c["id"] for c in rest["clips"]] == [stuck] and "token" not in rest

    busy = await api.delete(f"/clips/{stuck}")
    assert busy.status_code == 409
    assert busy.json() == {"kind": "NotReadyError", "description": "clip is in process, try again later"}
    deleted = await api.delete(f"/clips/{done}")
    assert (deleted.status_code, deleted.json()["id"]) == (200, done)
    assert (await api.get(f"/clips/{done}")).json() == {"kind": "NotFoundError", "description": "not found"}
    async with httpx.AsyncClient() as anonymous:
        gone = await anonymous.get(finished["result_url"])
    assert gone.status_code == 404 and "<Code>NoSuchKey</Code>" in gone.text


# -- presigned links -----------------------------------------------------------------------------------


async def test_links_expire_and_are_signed_like_s3(did_sim: DidSimulator, api: httpx.AsyncClient) -> None:
    clip_id = (await api.post("/clips", json=HELLO)).json()["id"]
    fresh = await _until(api, clip_id, "done")
    did_sim.set_fault("expired", times=1)
    stale = (await api.get(f"/clips/{clip_id}")).json()
    assert did_sim.fault is DidFault.NONE
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.get(fresh["result_url"])).status_code == 200
        expired = await anonymous.get(stale["result_url"])
        tampered = await anonymous.get(re.sub(r"Expires=\d+", "Expires=4102444800", fresh["result_url"]))
        unsigned = await anonymous.get(fresh["result_url"].split("?")[0])
    assert expired.status_code == 403
    assert expired.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message><Expires>" in expired.text
    assert "<ServerTime>" in expired.text
    assert tampered.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in tampered.text
    assert unsigned.status_code == 403 and "<Code>AccessDenied</Code>" in unsigned.text


# -- faults -------------------------------------------------------------------------------------------

REQUEST_FAULTS = [
    ("auth401", 401, {"kind": "AuthorizationError", "description": "user unauthenticated"}),
    ("auth401-gateway", 401, {"message": "Unauthorized"}),
    (
        "forbidden403",
        403,
        {"kind": "PermissionError", "description": "user has no permission for credits:read"},
    ),
    (
        "forbidden403-deny",
        403,
        {"Message": "User is not authorized to access this resource with an explicit deny"},
    ),
    ("rate_limit429", 429, {"message": "Too Many Requests"}),
    ("rate_limit429-bare", 429, {"message": "Too Many Requests"}),
    ("server500", 500, {"kind": "InternalServerError", "description": "internal server error"}),
    ("gateway502", 502, None),
    ("gateway504", 504, None),
]


@pytest.mark.parametrize(("fault", "status", "body"), REQUEST_FAULTS)
async def test_request_faults_answer_in_the_real_shapes_then_heal(
    did_sim: DidSimulator, api: httpx.AsyncClient, fault: str, status: int, body: dict[str, str] | None
) -> None:
    did_sim.set_fault(fault, times=1, retry_after_s=7)
    response = await api.get("/credits")
    assert response.status_code == status
    if body is None:
        assert response.headers["Content-Type"].startswith("text/html")
        assert f"<title>{status} " in response.text
    else:
        assert response.json() == body
    assert response.headers.get("Retry-After") == ("7" if fault == "rate_limit429" else None)
    assert (await api.get("/credits")).status_code == 200  # healed after one use
    assert [r.fault for r in did_sim.api_requests()] == [DidFault(fault), DidFault.NONE]


async def test_moderation_and_no_credits_hit_clip_creation_only(
    did_sim: DidSimulator, api: httpx.AsyncClient
) -> None:
    did_sim.set_fault("moderation451")
    assert (await api.get("/credits")).status_code == 200
    refused = await api.post("/clips", json=HELLO)
    assert refused.status_code == 451
    assert refused.json()["kind"] == "TextModerationError"
    assert "content moderation" in refused.json()["description"]


async def test_malformed_answers_keep_their_status_but_not_their_json(
    did_sim: DidSimulator, api: httpx.AsyncClient
) -> None:
    did_sim.set_fault("malformed")
    response = await api.get("/clips/presenters")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()


async def test_the_timeout_fault_never_answers(did_sim: DidSimulator) -> None:
    did_sim.set_fault("timeout")
    headers = {"Authorization": f"Basic {did_sim.api_key}"}
    async with httpx.AsyncClient(base_url=did_sim.url, headers=headers, timeout=0.3) as api:
        with pytest.raises(httpx.ReadTimeout):
            await api.get("/credits")
    (recorded,) = did_sim.api_requests()
    assert recorded.status is None  # still unanswered


async def test_faults_switch_over_http_too(did_sim: DidSimulator, api: httpx.AsyncClient) -> None:
    switched = await api.put("/_simulator/fault", json={"fault": "server500", "times": 1})
    assert switched.json() == {"fault": "server500", "times": 1}
    assert (await api.get("/credits")).status_code == 500
    assert (await api.get("/credits")).status_code == 200
    assert (await api.put("/_simulator/fault", json={"fault": "nonsense"})).status_code == 400


# -- recording -------------------------------------------------------------------------------------------


async def test_requests_are_recorded(did_sim: DidSimulator, api: httpx.AsyncClient) -> None:
    await api.post("/clips", json=HELLO)
    await api.get("/credits", params={"x": "1"})
    create, credits = did_sim.api_requests()
    assert (create.method, create.path, create.json, create.status) == ("POST", "/clips", HELLO, 201)
    assert create.headers["Authorization"] == f"Basic {did_sim.api_key}"
    assert (credits.method, credits.path, credits.query, credits.status) == (
        "GET",
        "/credits",
        {"x": "1"},
        200,
    )
    assert did_sim.clips_created == 1
    did_sim.clear_requests()
    assert did_sim.requests == []


# -- command line ---------------------------------------------------------------------------------------


def test_cli_options() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--port", "9000", "--latency-s", "0.5", "--fault", "gateway502"])
    assert (args.port, args.latency_s, args.fault, args.no_voice) == (9000, 0.5, "gateway502", False)
    with pytest.raises(SystemExit):
        parser.parse_args(["--fault", "nonsense"])


async def test_cli_serves_and_prints_what_to_set() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "interviewai.simulators.did",
        "--port",
        "0",
        "--no-voice",
        "--latency-s",
        "0",
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert process.stdout is not None
        lines: dict[str, str] = {}
        async with deadline(20):
            while "DID_API_KEY" not in lines:
                line = (await process.stdout.readline()).decode().strip()
                assert line, "the simulator exited before printing its settings"
                name, _, value = line.partition("=")
                lines[name] = value
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", lines["DID_API_URL"])
        headers = {"Authorization": f"Basic {lines['DID_API_KEY']}"}
        async with httpx.AsyncClient(base_url=lines["DID_API_URL"], headers=headers) as api:
            assert (await api.get("/credits")).json()["remaining"] == 100
    finally:
        process.send_signal(signal.SIGINT)
        async with deadline(10):
            assert await process.wait() == 0
