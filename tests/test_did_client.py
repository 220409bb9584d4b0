"""The D-ID adapter against the local simulator over real sockets: clips, presenters, credits, and every
failure classified into a ProviderError category."""

from __future__ import annotations

import asyncio
import random
import re
import socket
import time

import pytest

from did_fixtures import (
    FAST_POLL,
    QUESTION,
    audio_duration_s,
    did_sim,
    envelope_correlation,
    probe,
    renderer,
    renderer_for,
    spoken,
    tone_mp3,
    voice,
)
from interviewai.adapters.avatar.did import DidClipRenderer, DidError, DidLinkExpired, PollPolicy
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.domain.avatar import ClipRequest
from interviewai.domain.errors import ProviderCategory
from interviewai.domain.ports import AvatarRenderer
from interviewai.domain.speech import SpokenAudio
from interviewai.simulators.did import AMBER_ID, DidSimulator

__all__ = ["did_sim", "renderer", "spoken", "voice"]  # fixtures

TEXT = ClipRequest(AMBER_ID, "Hello there.")  # a second of silent video: quick to render


def _is_renderer(renderer: AvatarRenderer) -> AvatarRenderer:
    return renderer


async def _render(renderer: DidClipRenderer, request: ClipRequest, timeout_s: float = 10.0) -> bytes:
    status = await renderer.wait_for_clip(await renderer.create_clip(request), timeout_s)
    assert status.status == "done"
    assert status.result_url is not None
    return await renderer.download(status.result_url)


# -- happy paths ------------------------------------------------------------------------------------


async def test_own_audio_clip_speaks_exactly_our_mp3(
    did_sim: DidSimulator, renderer: DidClipRenderer, spoken: SpokenAudio
) -> None:
    _is_renderer(renderer)  # mypy checks DidClipRenderer against the port here
    clip_id = await renderer.create_clip(ClipRequest(AMBER_ID, QUESTION, audio_mp3=spoken.mp3))
    assert re.fullmatch(r"clp_[A-Za-z0-9_-]{21}", clip_id)
    status = await renderer.wait_for_clip(clip_id, timeout_s=10.0)
    assert status.status == "done" and status.result_url is not None
    assert status.duration_s is not None and abs(status.duration_s - spoken.duration_s) <= 0.2
    mp4 = await renderer.download(status.result_url)

    info = probe(mp4)
    assert (info.video_codecs, info.audio_codecs) == (("h264",), ("aac",))
    assert abs(info.duration_s - spoken.duration_s) <= 0.2
    assert abs(audio_duration_s(mp4) - spoken.duration_s) <= 0.2
    assert envelope_correlation(spoken.mp3, mp4) > 0.9  # the same speech, not just the same length

    # On the wire: our MP3 uploaded as-is, then an audio script pointing at the returned s3:// URL.
    upload, create = did_sim.api_requests("POST")
    assert upload.path == "/audios"
    assert upload.files["audio"].data == spoken.mp3
    assert upload.files["audio"].content_type == "audio/mpeg"
    assert create.path == "/clips"
    assert create.json is not None
    audio_url = create.json["script"]["audio_url"]
    assert re.fullmatch(r"s3://d-id-audios-prod/google-oauth2\|\d+/[A-Za-z0-9_-]{21}/speech\.wav", audio_url)
    assert create.json == {
        "presenter_id": AMBER_ID,
        "script": {"type": "audio", "audio_url": audio_url},
        "config": {"result_format": "mp4"},
    }
    # The key goes verbatim to the API and never to the presigned result link.
    assert {r.headers.get("Authorization") for r in did_sim.api_requests()} == {f"Basic {did_sim.api_key}"}
    (download,) = [r for r in did_sim.requests if r.path.startswith("/s3/")]
    assert "Authorization" not in download.headers


async def test_text_script_uses_d_ids_own_voice(voice: PiperSynthesizer) -> None:
    async with DidSimulator(voice, queue_delay_s=0.02, render_factor=0.05) as sim:
        renderer = renderer_for(sim, use_own_audio=False)
        try:
            # Own-audio mode off: even a request carrying an MP3 is spoken by D-ID.
            mp4 = await _render(renderer, ClipRequest(AMBER_ID, QUESTION, audio_mp3=tone_mp3()))
        finally:
            await renderer.aclose()
        (create,) = sim.api_requests("POST")
    assert create.path == "/clips"
    assert create.json is not None
    assert create.json["script"] == {
        "type": "text",
        "input": QUESTION,
        "provider": {"type": "microsoft", "voice_id": "en-US-JennyNeural"},
    }
    info = probe(mp4)
    assert (info.video_codecs, info.audio_codecs) == (("h264",), ("aac",))
    assert info.duration_s > 2.0  # a spoken sentence, not a tone or silence
    assert abs(audio_duration_s(mp4) - info.duration_s) <= 0.2


async def test_request_without_audio_falls_back_to_text_with_its_voice(
    did_sim: DidSimulator, renderer: DidClipRenderer
) -> None:
    request = ClipRequest(AMBER_ID, QUESTION, provider_voice="en-US-GuyNeural")
    await renderer.wait_for_clip(await renderer.create_clip(request), 5.0)
    (create,) = did_sim.api_requests("POST")
    assert create.json is not None
    assert create.json["script"]["provider"] == {"type": "microsoft", "voice_id": "en-US-GuyNeural"}


# -- failures of a request ------------------------------------------------------------------------

REQUEST_FAILURES = [
    ("auth401", ProviderCategory.AUTH, False, 401, "AuthorizationError", "user unauthenticated"),
    ("auth401-gateway", ProviderCategory.AUTH, False, 401, None, "Unauthorized"),
    ("forbidden403", ProviderCategory.AUTH, False, 403, "PermissionError", "no permission for clips:write"),
    ("forbidden403-deny", ProviderCategory.AUTH, False, 403, None, "explicit deny"),
    ("no_credits402", ProviderCategory.QUOTA, False, 402, "InsufficientCreditsError", "not enough credits"),
    ("rate_limit429", ProviderCategory.RATE_LIMIT, True, 429, None, "retry after 3 s"),
    ("rate_limit429-bare", ProviderCategory.RATE_LIMIT, True, 429, None, "Too Many Requests"),
    ("moderation451", ProviderCategory.INVALID_REQUEST, False, 451, "TextModerationError", "moderation"),
    ("server500", ProviderCategory.SERVER, True, 500, "InternalServerError", "internal server error"),
    ("gateway502", ProviderCategory.SERVER, True, 502, None, "502 Bad Gateway"),
    ("gateway504", ProviderCategory.SERVER, True, 504, None, "504 Gateway Time-out"),
    ("malformed", ProviderCategory.SERVER, True, 201, None, "not JSON"),
]


@pytest.mark.parametrize(("fault", "category", "retryable", "status", "kind", "said"), REQUEST_FAILURES)
async def test_create_failures_are_classified(
    did_sim: DidSimulator,
    fault: str,
    category: ProviderCategory,
    retryable: bool,
    status: int,
    kind: str | None,
    said: str,
) -> None:
    renderer = renderer_for(did_sim, max_parallel=1)
    try:
        did_sim.set_fault(fault, retry_after_s=3)
        with pytest.raises(DidError) as caught:
            await renderer.create_clip(TEXT)
        error = caught.value
        assert (error.provider, error.category, error.retryable) == ("d-id", category, retryable)
        assert (error.status, error.kind) == (status, kind)
        assert said in error.message
        assert error.retry_after_s == (3.0 if fault == "rate_limit429" else None)

        # The failed create gave its slot back: with max_parallel=1 the next one goes straight through.
        did_sim.set_fault("none")
        clip_id = await asyncio.wait_for(renderer.create_clip(TEXT), 2.0)
        await renderer.wait_for_clip(clip_id, 5.0)
    finally:
        await renderer.aclose()


@pytest.mark.parametrize("fault", ["auth401", "auth401-gateway", "forbidden403", "forbidden403-deny"])
async def test_probes_see_auth_failures_in_every_body_shape(
    did_sim: DidSimulator, renderer: DidClipRenderer, fault: str
) -> None:
    did_sim.set_fault(fault)
    for probe_call in (renderer.credits, lambda: renderer.presenter(AMBER_ID)):
        with pytest.raises(DidError) as caught:
            await probe_call()
        assert (caught.value.category, caught.value.retryable) == (ProviderCategory.AUTH, False)


async def test_a_wrong_key_is_an_auth_failure(did_sim: DidSimulator) -> None:
    renderer = renderer_for(did_sim, api_key="d3Jvbmc=:not-the-secret")
    try:
        with pytest.raises(DidError) as caught:
            await renderer.credits()
    finally:
        await renderer.aclose()
    assert (caught.value.category, caught.value.status, caught.value.kind) == (
        ProviderCategory.AUTH,
        401,
        "AuthorizationError",
    )


async def test_an_unanswered_request_times_out_on_its_deadline(did_sim: DidSimulator) -> None:
    renderer = renderer_for(did_sim, request_timeout_s=0.5)
    did_sim.set_fault("timeout")
    started = time.perf_counter()
    try:
        with pytest.raises(DidError) as caught:
            await renderer.create_clip(TEXT)
    finally:
        await renderer.aclose()
    assert (caught.value.category, caught.value.retryable) == (ProviderCategory.TIMEOUT, True)
    assert time.perf_counter() - started < 1.5


async def test_nothing_listening_is_a_connectivity_failure() -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]  # closed again below: nothing listens there
    renderer = DidClipRenderer(api_url=f"http://127.0.0.1:{port}", api_key="k:s", connect_timeout_s=2.0)
    try:
        with pytest.raises(DidError) as caught:
            await renderer.credits()
    finally:
        await renderer.aclose()
    assert (caught.value.category, caught.value.retryable) == (ProviderCategory.CONNECTIVITY, True)


async def test_an_unknown_host_is_a_connectivity_failure() -> None:
    renderer = DidClipRenderer(api_url="http://did-simulator.invalid", api_key="k:s", connect_timeout_s=3.0)
    try:
        with pytest.raises(DidError) as caught:
            await renderer.credits()
    finally:
        await renderer.aclose()
    assert (caught.value.category, caught.value.retryable) == (ProviderCategory.CONNECTIVITY, True)


# -- polling -----------------------------------------------------------------------------------------


async def test_a_stuck_clip_times_out_on_the_overall_deadline(
    did_sim: DidSimulator, renderer: DidClipRenderer
) -> None:
    did_sim.set_fault("stuck")
    clip_id = await renderer.create_clip(TEXT)
    started = time.perf_counter()
    with pytest.raises(DidError) as caught:
        await renderer.wait_for_clip(clip_id, timeout_s=1.0)
    elapsed = time.perf_counter() - started
    assert (caught.value.category, caught.value.retryable) == (ProviderCategory.TIMEOUT, True)
    assert "'started'" in caught.value.message
    assert 1.0 <= elapsed < 1.5
    assert did_sim.clip_status(clip_id) == "started"


async def test_the_deadline_cuts_a_poll_that_never_returns(did_sim: DidSimulator) -> None:
    renderer = renderer_for(did_sim, request_timeout_s=10.0)
    try:
        clip_id = await renderer.create_clip(TEXT)
        did_sim.set_fault("timeout")
        started = time.perf_counter()
        with pytest.raises(DidError) as caught:
            await renderer.wait_for_clip(clip_id, timeout_s=0.8)
    finally:
        await renderer.aclose()
    assert caught.value.category is ProviderCategory.TIMEOUT
    assert time.perf_counter() - started < 1.4


async def test_a_clip_that_errors_is_a_retryable_server_failure_and_is_refunded(
    did_sim: DidSimulator, renderer: DidClipRenderer
) -> None:
    before = await renderer.credits()
    did_sim.set_fault("error", times=1)
    did_sim.set_latency(queue_delay_s=0.5)  # still rendering when the credits are read
    clip_id = await renderer.create_clip(TEXT)
    assert (await renderer.credits()).remaining == before.remaining - 1
    with pytest.raises(DidError) as caught:
        await renderer.wait_for_clip(clip_id, timeout_s=5.0)
    assert (caught.value.category, caught.value.retryable) == (ProviderCategory.SERVER, True)
    assert (caught.value.kind, caught.value.clip_id) == ("UnknownError", clip_id)
    assert (await renderer.credits()).remaining == before.remaining


async def test_a_rejected_clip_is_a_permanent_invalid_request(
    did_sim: DidSimulator, renderer: DidClipRenderer
) -> None:
    did_sim.set_fault("rejected")
    clip_id = await renderer.create_clip(ClipRequest(AMBER_ID, QUESTION, audio_mp3=tone_mp3()))
    with pytest.raises(DidError) as caught:
        await renderer.wait_for_clip(clip_id, timeout_s=5.0)
    assert (caught.value.category, caught.value.retryable) == (ProviderCategory.INVALID_REQUEST, False)
    assert caught.value.kind == "AudioModerationError"
    assert "rejected" in caught.value.message


async def test_polling_rides_out_transient_failures(did_sim: DidSimulator, renderer: DidClipRenderer) -> None:
    clip_id = await renderer.create_clip(TEXT)
    did_sim.set_fault("gateway502", times=FAST_POLL.error_budget)
    status = await renderer.wait_for_clip(clip_id, timeout_s=5.0)
    assert status.status == "done"
    assert [r.status for r in did_sim.api_requests("GET", "/clips/")][:2] == [502, 502]


async def test_polling_gives_up_after_its_error_budget(
    did_sim: DidSimulator, renderer: DidClipRenderer
) -> None:
    clip_id = await renderer.create_clip(TEXT)
    did_sim.set_fault("server500")
    with pytest.raises(DidError) as caught:
        await renderer.wait_for_clip(clip_id, timeout_s=5.0)
    assert (caught.value.category, caught.value.status) == (ProviderCategory.SERVER, 500)
    assert len(did_sim.api_requests("GET", "/clips/")) == FAST_POLL.error_budget + 1


async def test_polling_honours_retry_after_within_the_deadline(
    did_sim: DidSimulator, renderer: DidClipRenderer
) -> None:
    clip_id = await renderer.create_clip(TEXT)
    did_sim.set_fault("rate_limit429", times=1, retry_after_s=1)
    started = time.perf_counter()
    status = await renderer.wait_for_clip(clip_id, timeout_s=3.0)
    assert status.status == "done"
    assert time.perf_counter() - started >= 1.0


async def test_a_retry_after_beyond_the_deadline_fails_at_once(
    did_sim: DidSimulator, renderer: DidClipRenderer
) -> None:
    clip_id = await renderer.create_clip(TEXT)
    did_sim.set_fault("rate_limit429", retry_after_s=30)
    started = time.perf_counter()
    with pytest.raises(DidError) as caught:
        await renderer.wait_for_clip(clip_id, timeout_s=2.0)
    assert (caught.value.category, caught.value.retry_after_s) == (ProviderCategory.RATE_LIMIT, 30.0)
    assert time.perf_counter() - started < 1.0


async def test_an_unknown_clip_is_retried_briefly_then_invalid(renderer: DidClipRenderer) -> None:
    started = time.perf_counter()
    with pytest.raises(DidError) as caught:
        await renderer.wait_for_clip("clp_doesNotExist0000000", timeout_s=5.0)
    assert (caught.value.category, caught.value.status) == (ProviderCategory.INVALID_REQUEST, 404)
    assert FAST_POLL.not_found_grace_s <= time.perf_counter() - started < 1.5


def test_poll_delays_grow_jittered_and_capped() -> None:
    policy = PollPolicy(initial_s=1.0, multiplier=2.0, max_s=5.0, jitter=0.25)
    delays = policy.delays(random.Random(7))
    first = [next(delays) for _ in range(10)]
    assert 0.75 <= first[0] <= 1.25
    assert 1.5 <= first[1] <= 2.5
    assert all(d <= 5.0 for d in first)
    assert all(3.75 <= d <= 5.0 for d in first[3:])
    assert len(set(first[3:])) > 1  # jittered, not a fixed cap
    with pytest.raises(ValueError):
        PollPolicy(initial_s=2.0, max_s=1.0)


# -- concurrency -------------------------------------------------------------------------------------


async def test_max_parallel_bounds_clips_in_flight(did_sim: DidSimulator) -> None:
    renderer = renderer_for(did_sim, max_parallel=1)
    try:
        first = await renderer.create_clip(TEXT)
        with pytest.raises(asyncio.TimeoutError):  # waits for the first clip's slot
            await asyncio.wait_for(renderer.create_clip(TEXT), 0.3)
        assert did_sim.clips_created == 1
        await renderer.wait_for_clip(first, 5.0)  # gives the slot back
        second = await asyncio.wait_for(renderer.create_clip(TEXT), 2.0)
        await renderer.wait_for_clip(second, 5.0)
        assert did_sim.clips_created == 2
    finally:
        await renderer.aclose()


async def test_a_slot_nobody_waits_for_is_given_back_after_its_lease(did_sim: DidSimulator) -> None:
    renderer = renderer_for(did_sim, max_parallel=1, slot_lease_s=0.3)
    try:
        await renderer.create_clip(TEXT)  # never waited for
        started = time.perf_counter()
        await asyncio.wait_for(renderer.create_clip(TEXT), 2.0)
        assert 0.25 <= time.perf_counter() - started < 1.0
    finally:
        await renderer.aclose()


# -- credits, presenters, links ---------------------------------------------------------------------


async def test_credits_go_down_one_per_clip(did_sim: DidSimulator, renderer: DidClipRenderer) -> None:
    before = await renderer.credits()
    assert (before.remaining, before.total) == (100.0, 100.0)
    for _ in range(2):
        await renderer.wait_for_clip(await renderer.create_clip(TEXT), 5.0)
    assert (await renderer.credits()).remaining == 98.0
    did_sim.set_credits(0)
    with pytest.raises(DidError) as caught:
        await renderer.create_clip(TEXT)
    assert (caught.value.category, caught.value.retryable) == (ProviderCategory.QUOTA, False)


async def test_amber_has_an_image_and_an_idle_video(renderer: DidClipRenderer) -> None:
    amber = await renderer.presenter(AMBER_ID)
    assert (amber.presenter_id, amber.name) == (AMBER_ID, "Amber")
    assert amber.image_url and amber.thumbnail_url and amber.idle_video_url
    idle = probe(await renderer.download(amber.idle_video_url))
    assert (idle.video_codecs, idle.audio_codecs) == (("h264",), ())
    assert 2.0 <= idle.duration_s <= 5.0
    assert (await renderer.download(amber.image_url)).startswith(b"\x89PNG")
    assert (await renderer.download(amber.thumbnail_url)).startswith(b"\x89PNG")


async def test_an_unknown_presenter_is_an_invalid_request(renderer: DidClipRenderer) -> None:
    with pytest.raises(DidError) as caught:
        await renderer.presenter("v2_public_Nobody@0000000000")
    assert (caught.value.category, caught.value.status, caught.value.kind) == (
        ProviderCategory.INVALID_REQUEST,
        404,
        "NotFoundError",
    )


async def test_an_expired_result_link_is_a_clear_error(
    did_sim: DidSimulator, renderer: DidClipRenderer
) -> None:
    clip_id = await renderer.create_clip(TEXT)
    did_sim.set_fault("expired")
    status = await renderer.wait_for_clip(clip_id, 5.0)
    assert status.result_url is not None
    with pytest.raises(DidLinkExpired) as caught:
        await renderer.download(status.result_url)
    error = caught.value
    assert (error.category, error.retryable, error.status) == (ProviderCategory.INVALID_REQUEST, False, 403)
    assert "expired" in error.message
    assert "Signature" not in error.message  # the presigned query stays out of logs


async def test_a_tampered_link_is_refused_but_not_as_expired(
    did_sim: DidSimulator, renderer: DidClipRenderer
) -> None:
    status = await renderer.wait_for_clip(await renderer.create_clip(TEXT), 5.0)
    assert status.result_url is not None
    with pytest.raises(DidError) as caught:
        await renderer.download(re.sub(r"Expires=\d+", "Expires=4102444800", status.result_url))
    assert not isinstance(caught.value, DidLinkExpired)
    assert (caught.value.category, caught.value.kind) == (
        ProviderCategory.INVALID_REQUEST,
        "SignatureDoesNotMatch",
    )
