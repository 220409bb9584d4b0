"""``interviewai did-sim``: the D-ID simulator from the command line, with the offline voice for text clips."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from interviewai.simulators.did.media import require_pyav
from interviewai.simulators.did.server import DidSimulator
from interviewai.simulators.did.spec import DEFAULT_API_KEY, DidFault
from interviewai.simulators.loopback import (
    add_listen_arguments,
    print_settings,
    run_until_interrupted,
    serve_forever,
    simulator_main,
)


async def run(
    *,
    port: int,
    host: str = "127.0.0.1",
    api_key: str = DEFAULT_API_KEY,
    fault: DidFault | str = DidFault.NONE,
    latency_s: float = 3.0,
    render_factor: float = 1.5,
    credits: float = 100.0,
    render_parallelism: int = 2,
    model_dir: Path | None = None,
    voice: bool = True,
    on_ready: Callable[[DidSimulator], None] | None = None,
) -> None:
    """Serve until cancelled, printing the DID_API_URL and DID_API_KEY to use.

    With ``voice`` the offline piper voice is loaded to speak text scripts (D-ID's own voice).
    """
    synthesizer = None
    closer: Callable[[], None] | None = None
    if voice:
        # Imported here: the simulator itself runs with any SpeechSynthesizer, or none.
        from interviewai.adapters.speech.piper import PiperSynthesizer
        from interviewai.settings import load_settings

        piper = await PiperSynthesizer.open(model_dir or load_settings().resolved_model_dir)
        synthesizer, closer = piper, piper.close
    try:
        async with DidSimulator(
            synthesizer,
            host=host,
            port=port,
            api_key=api_key,
            fault=fault,
            queue_delay_s=latency_s,
            render_factor=render_factor,
            credits=credits,
            render_parallelism=render_parallelism,
        ) as sim:
            print_settings(
                f"D-ID simulator on {sim.url} (fault: {sim.fault.value})",
                {"DID_API_URL": sim.url, "DID_API_KEY": sim.api_key},
            )
            if on_ready is not None:
                on_ready(sim)
            await serve_forever()
    finally:
        if closer is not None:
            await asyncio.to_thread(closer)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``did-sim`` options, for the ``interviewai`` command's subparser."""
    add_listen_arguments(parser, 8766)
    parser.add_argument(
        "--latency-s",
        type=float,
        default=3.0,
        help="queue delay before a clip starts rendering (default 3 s)",
    )
    parser.add_argument(
        "--render-factor",
        type=float,
        default=1.5,
        help="render time per second of audio, after the queue delay (default 1.5)",
    )
    parser.add_argument(
        "--fault",
        choices=[f.value for f in DidFault if f is not DidFault.NONE],
        default=None,
        help="misbehave from the start (switch later with PUT /_simulator/fault)",
    )
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the DID_API_KEY to accept")
    parser.add_argument("--credits", type=float, default=100.0, help="credits available (one per clip)")
    parser.add_argument(
        "--render-parallelism", type=int, default=2, help="clips rendered at once; the rest queue (default 2)"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="where the aligned voice model is kept (default: MODEL_DIR)",
    )
    parser.add_argument(
        "--no-voice", action="store_true", help="don't load the offline voice; text scripts render silence"
    )


def handle(args: argparse.Namespace) -> int:
    """Run the simulator from parsed ``add_arguments`` options until Ctrl-C."""
    try:
        require_pyav()
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    return run_until_interrupted(
        run(
            port=args.port,
            host=args.host,
            api_key=args.api_key,
            fault=args.fault or DidFault.NONE,
            latency_s=args.latency_s,
            render_factor=args.render_factor,
            credits=args.credits,
            render_parallelism=args.render_parallelism,
            model_dir=args.model_dir,
            voice=not args.no_voice,
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``interviewai did-sim --port N [--latency-s X] [--fault NAME]``: run the simulator until Ctrl-C."""
    return simulator_main(
        argv,
        prog="interviewai did-sim",
        description="Serve a local D-ID Clips API simulator.",
        add_arguments=add_arguments,
        handle=handle,
    )
