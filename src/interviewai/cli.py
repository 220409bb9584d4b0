"""The `interviewai` command line: serve the API and run the developer tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from interviewai import __version__
from interviewai.observability.logging import configure_logging
from interviewai.settings import SettingsError, load_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from interviewai.api.websocket import TRANSPORT_MAX_MESSAGE_BYTES
    from interviewai.app import create_app
    from interviewai.connection_guard import http_protocol
    from interviewai.container import check_configuration
    from interviewai.startup import check_outside_world

    overrides: dict[str, object] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    settings = load_settings(**overrides)
    check_configuration(settings)
    # Before binding: a database, Redis or directory that cannot be used stops here with one line.
    asyncio.run(check_outside_world(settings))
    configure_logging(settings.log_format, settings.resolved_log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        # X-Forwarded-* are believed from TRUSTED_PROXIES only (uvicorn would otherwise trust 127.0.0.1).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        # Our handler and our access line (route template, request id, no session id) replace uvicorn's.
        log_config=None,
        access_log=False,
        log_level=settings.resolved_log_level.lower(),
        ws_max_size=TRANSPORT_MAX_MESSAGE_BYTES,
        http=http_protocol(settings.header_timeout_s, settings.max_connections_per_client),
    )
    return 0


def _warm_cache(args: argparse.Namespace) -> int:
    from interviewai.container import check_configuration
    from interviewai.warm_cache import run

    settings = load_settings()
    check_configuration(settings)
    logging.basicConfig(level=logging.WARNING)
    return run(settings, role=args.role, all_roles=args.all)


def _worker(args: argparse.Namespace) -> int:
    from interviewai.container import check_configuration
    from interviewai.worker import run_worker

    settings = load_settings()
    check_configuration(settings)
    configure_logging(settings.log_format, settings.resolved_log_level)
    if args.metrics_port:
        from interviewai.observability.metrics import serve_exposition

        serve_exposition(args.metrics_port, args.metrics_host)
    return run_worker(settings, concurrency=args.concurrency)


def build_parser() -> argparse.ArgumentParser:
    """The `interviewai` argument parser: serve, worker, warm-cache, doctor and the simulators, each
    subcommand with its handler set as `handler`."""
    parser = argparse.ArgumentParser(prog="interviewai", description=__doc__)
    parser.add_argument("--version", action="version", version=f"interviewai {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = commands.add_parser(
        "doctor", help="check the configuration, database, broker, blob store, models and providers"
    )
    doctor.set_defaults(handler=_doctor)
    serve = commands.add_parser("serve", help="run the API server (settings from the environment and .env)")
    serve.add_argument("--host", default=None, help="interface to bind (default: HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default: PORT or 8000)")
    serve.set_defaults(handler=_serve)

    warm = commands.add_parser(
        "warm-cache", help="speak every bank question and render its clip ahead of time (resumable)"
    )
    scope = warm.add_mutually_exclusive_group()
    scope.add_argument("--role", help="also the library's questions for this role (and its general ones)")
    scope.add_argument("--all", action="store_true", help="also every question of the library")
    warm.set_defaults(handler=_warm_cache)

    worker = commands.add_parser(
        "worker", help="run queued media jobs from the broker at BROKER_URL until SIGINT or SIGTERM"
    )
    worker.add_argument(
        "--concurrency", type=int, default=16, help="jobs run at once by this process (default: 16)"
    )
    worker.add_argument(
        "--metrics-port", type=int, default=0, help="serve Prometheus /metrics on this port (default: none)"
    )
    worker.add_argument(
        "--metrics-host", default="127.0.0.1", help="interface for --metrics-port (default: 127.0.0.1)"
    )
    worker.set_defaults(handler=_worker)

    from interviewai.simulators import edge_tts

    edge_sim = commands.add_parser(
        "edge-sim", help="run the local Edge TTS simulator and print the EDGE_TTS_URL that points at it"
    )
    edge_tts.add_arguments(edge_sim)
    edge_sim.set_defaults(handler=edge_tts.handle)

    from interviewai.simulators import did

    did_sim = commands.add_parser(
        "did-sim", help="run the local D-ID simulator and print the DID_API_URL and DID_API_KEY to use"
    )
    did.add_arguments(did_sim)
    did_sim.set_defaults(handler=did.handle)

    from interviewai.simulators import openai_chat

    llm_sim = commands.add_parser(
        "llm-sim",
        help="run the local OpenAI-compatible chat simulator and print the LLM_API_URL, key and model to use",
    )
    openai_chat.add_arguments(llm_sim)
    llm_sim.set_defaults(handler=openai_chat.handle)

    from interviewai.simulators import stt_openai

    stt_sim = commands.add_parser(
        "stt-sim", help="run the local OpenAI-compatible transcription simulator and print STT_API_URL/KEY"
    )
    stt_openai.add_arguments(stt_sim)
    stt_sim.set_defaults(handler=stt_openai.handle)
    return parser


def _doctor(_args: argparse.Namespace) -> int:
    from interviewai.cli_doctor import doctor

    return doctor()


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command in `argv` (default: the process's arguments) and returns the exit code: 2 for invalid
    settings, with the problems on stderr; with no command, the help and 0."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        result: int = args.handler(args)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
