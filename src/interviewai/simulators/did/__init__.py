"""A local D-ID Clips API on 127.0.0.1: D-ID's paths, JSON and errors, real MP4 results, fault injection.

What it reproduces (facts from ``/work/shared/docs/did-api.md`` and public client code):

* Auth: ``Authorization: Basic <key>`` with the key as given (``base64(email):secret``), and the
  standard ``Basic base64(key)`` form too (the doc infers both work). Anything else answers 401
  ``{"kind":"AuthorizationError","description":"user unauthenticated"}``. Unmapped paths and methods answer
  like D-ID's API gateway: 403 ``{"message":"Missing Authentication Token"}``.
* ``POST /audios`` (multipart field ``audio``; ``audio/*`` or ``video/*``, else 415
  ``UnsupportedMimeTypeError``): the audio is converted to 16 kHz mono WAV as D-ID does and the answer is
  201 ``{"id", "url": "s3://d-id-audios-prod/<owner>/<id>/<name>.wav", "duration"}`` — the same s3:// form
  D-ID returns, which the audio-script pattern accepts, so a client passes it on unchanged.
* ``POST /clips`` validated like the spec (``additionalProperties: false`` at the top level, text 3..40000
  characters, the ``audio_url`` pattern, result format, resolution, presenter and driver, ``"true"``/
  ``"false"`` strings accepted for booleans) → 201 ``{"id":"clp_<21>","object":"clip","created_at",
  "status":"created"}``; 400 ``BadRequestError``/``DriverNotValidError``, 402
  ``InsufficientCreditsError``.
* ``GET /clips/{id}``: ``created`` → ``started`` (after the queue delay) → ``done`` (after the render
  time, ``render_factor`` × the audio's length, or when the real render finishes if later), with
  ``created_at``/``started_at``/``completed_at``/``modified_at``, ``pending_url`` (an ``s3://`` URI, not
  the result) until finished, then ``result_url`` (a presigned link valid ``link_ttl_s`` from
  ``completed_at``; 24 h by default, as D-ID), ``audio_url``, ``duration``, ``metadata``; or ``error`` /
  ``rejected`` with ``{"error": {"kind", "description"}}``. ``GET /clips`` lists (``limit``/``token``
  cursor), ``DELETE /clips/{id}`` answers 200 with the clip, 409 ``NotReadyError`` while rendering, 404.
* ``GET /clips/presenters`` and ``GET /clips/presenters/{id}`` (the same ``{"presenters": [...]}``
  wrapper), with Amber ``v2_public_Amber@0zSz8kflCN``; each has ``image_url``, ``thumbnail_url``,
  ``idle_video`` and ``video_url`` on a public CDN-like path (``/cdn/v2/<Name>/<id>/<driver>/...``).
* ``GET /credits``: ``{"credits": [{...}], "remaining", "total"}``. A clip costs ``clip_cost`` credits when
  created and they are refunded when it ends ``error`` or ``rejected`` ("you are not billed for errors").
* Result and audio links are served from an S3-like path (``/s3/<bucket>/<key>?AWSAccessKeyId&Expires&
  Signature``, HMAC-signed). After ``Expires`` S3's answer is reproduced: 403 XML ``AccessDenied`` /
  ``Request has expired``; a wrong signature is 403 ``SignatureDoesNotMatch``, a deleted object 404
  ``NoSuchKey``.

Results are real media rendered with PyAV in worker threads: the presenter image as H.264 video (25 fps;
a mouth that opens with the audio's loudness for the bundled image) with the clip's audio as AAC, in
MP4 (``mov`` for ``result_format: mov``; VP8 + Opus for ``webm``), exactly as long as the audio. The idle
video is a few silent seconds of the image. Text scripts are spoken by the injected synthesizer (the
offline piper voice) whatever Microsoft voice was asked for; without one they get silence of a plausible
length.

Deviations from D-ID, on purpose: links point at this server over plain http (D-ID: https on S3 and a
CDN); ``audio_url`` may also be an http link to this server (D-ID requires https or s3); an https or s3
URL that is not one of this server's uploads cannot be fetched offline, so the clip ends ``error``;
webhooks are validated and recorded but never called; ``background``, ``logo`` and crop are accepted and
ignored; ``preview_url``/``talking_preview_url`` point at the thumbnail and the idle video.

The package: :mod:`.spec` (constants, presenters, the fault table), :mod:`.validation` (request checks),
:mod:`.state` (requests, clips, credits), :mod:`.server` (the HTTP server), :mod:`.answers` (auth, fault
answers, envelopes), :mod:`.objects` (the signed object store), :mod:`.rendering` and :mod:`.media` (clips
rendered with PyAV), :mod:`.views` (the JSON), :mod:`.cli` (``interviewai did-sim``).
"""

from interviewai.simulators.did.cli import add_arguments, handle, main, run
from interviewai.simulators.did.media import (
    decode_audio,
    decode_image,
    encode_png,
    encode_wav,
    render_idle_video,
    render_video,
    require_pyav,
)
from interviewai.simulators.did.server import DidSimulator
from interviewai.simulators.did.spec import (
    AMBER_ID,
    AUDIOS_BUCKET,
    BUNDLED_AVATAR_MOUTH,
    CLIPS_BUCKET,
    DEFAULT_API_KEY,
    FPS,
    LINK_TTL_S,
    OWNER_ID,
    PRESENTERS,
    DidFault,
    Mouth,
    SimulatedPresenter,
)
from interviewai.simulators.did.state import RecordedFile, RecordedRequest

__all__ = [
    "AMBER_ID",
    "AUDIOS_BUCKET",
    "BUNDLED_AVATAR_MOUTH",
    "CLIPS_BUCKET",
    "DEFAULT_API_KEY",
    "FPS",
    "LINK_TTL_S",
    "OWNER_ID",
    "PRESENTERS",
    "DidFault",
    "DidSimulator",
    "Mouth",
    "RecordedFile",
    "RecordedRequest",
    "SimulatedPresenter",
    "add_arguments",
    "decode_audio",
    "decode_image",
    "encode_png",
    "encode_wav",
    "handle",
    "main",
    "render_idle_video",
    "render_video",
    "require_pyav",
    "run",
]
