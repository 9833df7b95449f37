"""Run the app locally, inside Microsoft's Functions runtime, with no Azure account and no Core Tools.

- ``serve [--port 7071]``: the stack (Azurite, the speech emulator, the identity endpoint) and the host stand-in:
  the HTTP routes at ``http://127.0.0.1:<port>/api/<route>``, blob events from the input container, the timer,
  and the batch web hook registered on the emulator.
  Prints ``local.settings.json`` with ``"Host": {"LocalHttpPort": <port>}``; runs until SIGINT or SIGTERM.
- ``run DIR``: the same, then DIR's audio dropped into the input container; prints the transcripts that the
  runtime's invocations wrote, and stops everything.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from local_stack.functions_host import FunctionsHost
from local_stack.processes import free_port, port_open
from local_stack.stack import LocalStack, ready_stack

#: What ``run`` uploads from the folder (the pipeline itself finds the format from the content).
AUDIO_SUFFIXES = {
    ".wav", ".mp3", ".m4a", ".mp4", ".mov", ".3gp", ".ogg", ".opus", ".oga", ".flac", ".webm", ".mkv", ".amr",
    ".awb", ".aac",
}  # fmt: skip
#: The app's batch web hook, registered on the emulator once the host serves it, as the deployment does.
CALLBACK_ROUTE = "/api/speech-callbacks"
#: ``func start``'s port.
DEFAULT_HTTP_PORT = 7071
#: How long ``run`` waits for a folder's recordings.
RUN_TIMEOUT_SECONDS = 900


def run(folder: Path) -> int:
    files = audio_files(folder)
    if not files:
        print(f"no audio files in {folder}", file=sys.stderr)
        return 2
    print("starting Azurite, the speech emulator, the identity endpoint and the Functions host ...", flush=True)
    with (
        ready_stack() as stack,
        FunctionsHost(stack, http_port=free_port(), timers=False) as host,
        stack.webhook(host.url(CALLBACK_ROUTE)),
    ):
        return transcribe_folder(stack, host, files)


def audio_files(folder: Path) -> list[Path]:
    """The recordings in ``folder`` ``run`` uploads (by suffix; the pipeline finds the format from the content)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)


def transcribe_folder(stack: LocalStack, host: FunctionsHost, files: list[Path]) -> int:
    """Drop ``files`` into the host's input container, wait for the invocations the events start, print each
    transcript; 1 when any has none."""
    inputs, outputs = host.settings["INPUT_CONTAINER"], host.settings["OUTPUT_CONTAINER"]
    with stack.blob_service() as service:
        for path in files:
            service.get_container_client(inputs).upload_blob(path.name, path.read_bytes(), overwrite=True)
        print(f"uploaded {len(files)} file(s) to {inputs}; the blob trigger takes it from here", flush=True)
        finished = host.blob_trigger.wait_for([p.name for p in files], timeout=RUN_TIMEOUT_SECONDS)
        missing = 0
        for path in files:
            blob = service.get_container_client(outputs).get_blob_client(f"{path.name}.txt")
            print(f"\n=== {outputs}/{path.name}.txt")
            if path.name in finished and blob.exists():
                print(blob.download_blob().readall().decode(), end="")
            else:
                missing += 1
                print(f"(no transcript: see {outputs}/{path.name}.error.json)")
    return 1 if missing else 0


def serve(port: int) -> int:
    if port_open(port):
        print(f"port {port} is in use: pass --port", file=sys.stderr)
        return 2
    # SIGINT and SIGTERM only set a flag: an exception raised between two statements could escape the
    # cleanup below and leave the worker, Azurite and friends running.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with LocalStack() as stack:
        stack.create_containers()
        with FunctionsHost(stack, http_port=port) as host, stack.webhook(host.url(CALLBACK_ROUTE)):
            values = {k: v for k, v in host.settings.items()}
            print(json.dumps({"IsEncrypted": False, "Values": values, "Host": {"LocalHttpPort": port}}, indent=2))
            print(functions_listing(host), file=sys.stderr, flush=True)
            while not stop.is_set() and all(p.poll() is None for p in stack.processes) and host.worker_alive():
                stop.wait(1)
    return 0


def functions_listing(host: FunctionsHost) -> str:
    """What ``func start`` prints once the host is up: each function, and its URL for HTTP ones."""
    lines = ["Functions:", ""]
    for function in sorted(host.functions.values(), key=lambda f: f.name):
        trigger = function.trigger
        if trigger["type"] == "httpTrigger":
            methods = ",".join(trigger["methods"])
            lines.append(f"        {function.name}: [{methods}] {host.url('/api/' + trigger['route'])}")
        else:
            lines.append(f"        {function.name}: {trigger['type']}")
    return "\n".join([*lines, "", "Ctrl-C (or SIGTERM) stops the host and the stack."])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="transcribe a folder of audio through the app in the runtime")
    run_parser.add_argument("folder", type=Path)
    serve_parser = commands.add_parser("serve", help="run the app in the runtime, with the stack, until stopped")
    serve_parser.add_argument("--port", type=int, default=DEFAULT_HTTP_PORT, help="LocalHttpPort (default 7071)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args.port)
    # `kill` (SIGTERM) must end what `run` started, as Ctrl-C does: without this the interpreter dies at once
    # and the worker, Azurite, the emulator and the identity endpoint live on as orphans.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return run(args.folder)
    except KeyboardInterrupt:
        return 130


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
