"""SpeechMediaService on fakes of its ports: where a question's speech comes from (memory, the index, or one
synthesis) and what each path costs in blob and index calls."""

from __future__ import annotations

import asyncio

from fakes import CountingMediaIndex, media_on_fakes
from interviewai.domain.media import speech_key
from interviewai.domain.media_index import MediaState
from interviewai.services.media import SpeechMediaService, audio_blob_name
from interviewai.services.single_flight import SingleFlight

TEXT = "Walk me through a system you designed."


async def test_a_miss_synthesizes_once_and_costs_one_blob_write_and_no_read() -> None:
    fakes = media_on_fakes()
    speech = await fakes.media.speech_for(TEXT)
    assert not speech.from_cache
    assert fakes.first.spoken == [TEXT] and fakes.media.syntheses == 1
    assert speech.audio.engine == "first"
    assert fakes.blobs.calls["put"] == 1
    assert fakes.blobs.calls["get"] == 0, "the audio spoken is returned as it is, not read back"
    assert fakes.stored[speech.audio_name] == speech.audio.mp3
    entry = fakes.index.entries[speech.key]
    assert entry.state is MediaState.READY and entry.blob_name == audio_blob_name(speech.key)
    assert speech.key == speech_key(TEXT, fakes.speech.cache_candidates()[0])


async def test_an_index_hit_reads_the_blob_and_speaks_nothing() -> None:
    fakes = media_on_fakes()
    spoken = await fakes.media.speech_for(TEXT)
    other = fakes.new_process()  # nothing in its memory: only the index and the blob store know the audio
    reads_before = fakes.blobs.calls["get"]
    found = await other.speech_for(TEXT)
    assert found.from_cache and found.key == spoken.key
    assert found.audio == spoken.audio, "the same MP3, timings and visemes"
    assert other.syntheses == 0 and fakes.first.spoken == [TEXT]
    assert fakes.blobs.calls["get"] == reads_before + 1


async def test_a_session_asking_again_is_served_from_memory_without_the_index_or_blobs() -> None:
    fakes = media_on_fakes()
    counted = CountingMediaIndex(fakes.index)
    media = SpeechMediaService(fakes.speech, fakes.blobs, counted, SingleFlight(counted, "fakes:counted"))
    first = await media.speech_for(TEXT)
    index_calls, blob_reads = sum(counted.calls.values()), fakes.blobs.reads
    again = await media.speech_for(TEXT, served_before=True)
    assert again.from_cache and again.audio is first.audio
    assert sum(counted.calls.values()) == index_calls, "no index call"
    assert fakes.blobs.reads == blob_reads, "no blob call"
    assert media.syntheses == 1


async def test_asked_again_in_another_process_falls_back_to_the_index() -> None:
    fakes = media_on_fakes()
    await fakes.media.speech_for(TEXT)
    other = fakes.new_process()
    found = await other.speech_for(TEXT, served_before=True)
    assert found.from_cache and other.syntheses == 0
    assert fakes.blobs.calls["get"] == 1, "its memory is empty: the blob is read once"


async def test_a_truncated_blob_is_spoken_again_under_the_same_key() -> None:
    fakes = media_on_fakes()
    spoken = await fakes.media.speech_for(TEXT)
    fakes.stored[spoken.audio_name] = spoken.audio.mp3[:10]
    other = fakes.new_process()
    again = await other.speech_for(TEXT)
    assert not again.from_cache and other.syntheses == 1
    assert again.key == spoken.key
    assert fakes.stored[spoken.audio_name] == spoken.audio.mp3, "the blob is whole again"


async def test_only_the_cache_of_the_engine_that_would_speak_counts() -> None:
    fakes = media_on_fakes()
    fakes.speech.breaker("first").record_failure()  # an outage of the first voice: the second speaks
    during = await fakes.media.speech_for(TEXT)
    assert during.audio.engine == "second" and fakes.second.spoken == [TEXT]
    assert (await fakes.media.speech_for(TEXT)).from_cache, "the second's audio counts while it is the one"
    fakes.speech.breaker("first").record_success()
    after = await fakes.media.speech_for(TEXT)
    assert not after.from_cache and after.audio.engine == "first"
    assert after.key != during.key
    assert fakes.media.syntheses == 2


async def test_requests_for_the_same_text_at_once_synthesize_it_once() -> None:
    fakes = media_on_fakes()
    other = fakes.new_process()
    results = await asyncio.gather(*(m.speech_for(TEXT) for m in (fakes.media, other, fakes.media)))
    assert fakes.media.syntheses + other.syntheses == 1
    assert len({r.key for r in results}) == 1
    assert len({r.audio.mp3 for r in results}) == 1


async def test_with_the_cache_off_every_request_synthesizes() -> None:
    fakes = media_on_fakes(cache_enabled=False)
    one = await fakes.media.speech_for(TEXT)
    two = await fakes.media.speech_for(TEXT, served_before=True)
    assert fakes.media.syntheses == 2 and not one.from_cache and not two.from_cache
    assert one.audio_name != two.audio_name
    assert fakes.index.entries == {}, "nothing goes into the index"


async def test_speech_by_key_is_the_stored_audio_or_none() -> None:
    fakes = media_on_fakes()
    spoken = await fakes.media.speech_for(TEXT)
    found = await fakes.new_process().speech_by_key(spoken.key)
    assert found is not None and found.audio == spoken.audio
    assert await fakes.media.speech_by_key("0" * 64) is None
