"""A whole interview over HTTP against the app with the real offline voice."""

from __future__ import annotations

import base64
import re

import httpx

from audio_checks import decode_mp3

WORD_SPLIT = re.compile(r"\S+")


async def test_full_interview_start_to_completion(client: httpx.AsyncClient) -> None:
    started = await client.post("/api/v1/interview/start")
    assert started.status_code == 200, started.text
    start = started.json()
    session_id = start["session_id"]
    assert session_id.startswith("session_") and len(session_id) >= len("session_") + 22
    assert start["state"] == "in_progress"
    assert start["total_questions"] == 10
    assert start["avatar_mode"] == "audio_only"
    assert start["avatar_image_url"].endswith("/api/v1/media/avatar.png")

    first = (await client.get(f"/api/v1/interview/{session_id}/question")).json()
    again = (await client.get(f"/api/v1/interview/{session_id}/question")).json()
    assert first["type"] == "question"
    assert first["question_id"] == again["question_id"] == 1
    assert first["question_text"] == again["question_text"]
    assert first["audio_base64"] == again["audio_base64"], "a question is spoken once and then reused"

    seen_ids = []
    question = first
    for number in range(1, 11):
        assert question["type"] == "question"
        assert question["current_question"] == number
        assert question["total_questions"] == 10
        assert question["avatar_mode"] == "audio_only"
        assert question["video_url"] is None
        assert question["video_status"] == "disabled"
        assert question["voice"].startswith("piper:")
        assert isinstance(question["latency_ms"], int) and question["latency_ms"] >= 0
        audio = decode_mp3(base64.b64decode(question["audio_base64"]))
        assert abs(audio.duration_s - question["audio_duration"]) <= 0.1
        words = [w["word"] for w in question["word_timings"]]
        assert words == WORD_SPLIT.findall(question["question_text"])
        starts = [w["start"] for w in question["word_timings"]]
        assert starts == sorted(starts)
        assert all(
            0 <= w["start"] < w["end"] <= question["audio_duration"] + 0.01 for w in question["word_timings"]
        )
        assert question["visemes"] and all(v["viseme"] for v in question["visemes"])
        served = await client.get(question["audio_url"].replace("http://testserver", ""))
        assert served.status_code == 200
        assert served.content == base64.b64decode(question["audio_base64"])
        seen_ids.append(question["question_id"])

        status = (await client.get(f"/api/v1/interview/{session_id}/status")).json()
        assert status == {
            "session_id": session_id,
            "state": "in_progress",
            "current_question": number,
            "total_questions": 10,
            "is_complete": False,
            "answers_recorded": number - 1,
        }
        response = await client.post(
            f"/api/v1/interview/{session_id}/answer",
            json={
                "question_id": question["question_id"],
                "answer_text": f"My answer number {number} has six words.",
            },
        )
        assert response.status_code == 200, response.text
        question = response.json()

    assert len(set(seen_ids)) == 10
    complete = question
    assert complete["type"] == "complete"
    assert complete["questions_answered"] == 10
    summary = complete["session_summary"]
    assert summary["session_id"] == session_id
    assert summary["state"] == "completed"
    assert summary["questions_answered"] == 10
    assert summary["created_at"] <= summary["completed_at"]
    assert [q["question_id"] for q in summary["questions"]] == seen_ids
    for index, item in enumerate(summary["questions"], start=1):
        assert item["answer_text"] == f"My answer number {index} has six words."
        assert item["word_count"] == 7
        assert item["seconds_to_answer"] is not None and item["seconds_to_answer"] >= 0

    # After completion GET question keeps returning the completion object.
    after = (await client.get(f"/api/v1/interview/{session_id}/question")).json()
    assert after["type"] == "complete"
    status = (await client.get(f"/api/v1/interview/{session_id}/status")).json()
    assert (
        status["is_complete"] is True and status["state"] == "completed" and status["answers_recorded"] == 10
    )

    ended = await client.delete(f"/api/v1/interview/{session_id}")
    assert ended.status_code == 200
    body = ended.json()
    assert body["session_id"] == session_id
    assert body["summary"]["state"] == "ended"
    assert body["summary"]["questions_answered"] == 10


async def test_word_timings_fall_on_speech(client: httpx.AsyncClient) -> None:
    session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
    question = (await client.get(f"/api/v1/interview/{session_id}/question")).json()
    # Walk to a question with two sentences so there is a real pause between them.
    while not re.search(r"[.?!]\s", question["question_text"]):
        question = (
            await client.post(
                f"/api/v1/interview/{session_id}/answer",
                json={"question_id": question["question_id"], "answer_text": "An answer."},
            )
        ).json()
        assert question["type"] == "question", "the default bank has a two-sentence question"
    audio = decode_mp3(base64.b64decode(question["audio_base64"]))
    timings = question["word_timings"]
    boundary = next(i for i, w in enumerate(timings) if w["word"].endswith((".", "?")))
    gap_start, gap_end = timings[boundary]["end"], timings[boundary + 1]["start"]
    assert gap_end - gap_start >= 0.05, "a sentence break leaves a pause"
    gap_rms = audio.rms(gap_start, gap_end)
    word_rms = sorted(audio.rms(w["start"], w["end"]) for w in timings)
    median_word_rms = word_rms[len(word_rms) // 2]
    assert median_word_rms > 4 * max(gap_rms, 1e-4)


async def test_same_answer_resent_is_idempotent(client: httpx.AsyncClient) -> None:
    session_id = (await client.post("/api/v1/interview/start")).json()["session_id"]
    body = {"question_id": 1, "answer_text": "I build backends."}
    first = (await client.post(f"/api/v1/interview/{session_id}/answer", json=body)).json()
    second = (await client.post(f"/api/v1/interview/{session_id}/answer", json=body)).json()
    assert first["question_id"] == second["question_id"] == 2
    status = (await client.get(f"/api/v1/interview/{session_id}/status")).json()
    assert status["answers_recorded"] == 1 and status["current_question"] == 2

    changed = await client.post(
        f"/api/v1/interview/{session_id}/answer", json={"question_id": 1, "answer_text": "Something else."}
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "wrong_question"
