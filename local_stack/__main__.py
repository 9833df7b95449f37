"""Run the pipeline locally with no Azure account: ``python -m local_stack run samples/``.

- ``run DIR``: start Azurite + speech emulator + identity endpoint, upload DIR's audio into the input
  container, run the blob handler over every blob without a transcript (``shared.backfill``), print
  the transcripts, stop everything.
- ``serve``: start the stack and print the app settings that point at it (for ``func start`` users);
  Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from local_stack.stack import LocalStack, ready_stack

#: What ``run`` uploads from the folder (the pipeline itself finds the format from the content).
AUDIO_SUFFIXES = {".wav", ".mp3", ".m4a", ".mp4", ".mov", ".3gp", ".ogg", ".opus", ".oga", ".flac", ".webm",
                  ".mkv", ".amr", ".awb", ".aac"}


def run(folder: Path) -> int:
    files = audio_files(folder)
    if not files:
        print(f"no audio files in {folder}", file=sys.stderr)
        return 2
    print("starting Azurite, the speech emulator and the identity endpoint ...", flush=True)
    with ready_stack() as stack:
        return transcribe_folder(stack, files)


def audio_files(folder: Path) -> list[Path]:
    """The recordings in ``folder`` ``run`` uploads (by suffix; the pipeline finds the format from the content)."""
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)


def transcribe_folder(stack: LocalStack, files: list[Path]) -> int:
    """Upload ``files`` into the running ``stack``, transcribe every blob without a transcript, print each
    transcript; 1 when any failed."""
    from shared.cli.backfill import run as backfill
    from shared.pending import pending
    from shared.settings import Settings

    settings = Settings.from_env()
    with stack.blob_service() as service:
        inputs = service.get_container_client(settings.input_container)
        for path in files:
            inputs.upload_blob(path.name, path.read_bytes(), overwrite=True)
        print(f"uploaded {len(files)} file(s) to {settings.input_container}", flush=True)
        failed = backfill(settings, pending(settings))
        outputs = service.get_container_client(settings.output_container)
        for path in files:
            blob = outputs.get_blob_client(f"{path.name}.txt")
            print(f"\n=== {settings.output_container}/{path.name}.txt")
            print(blob.download_blob().readall().decode() if blob.exists() else "(no transcript)", end="")
    return 1 if failed else 0


def serve() -> int:
    with LocalStack() as stack:
        stack.create_containers()
        print(json.dumps({"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", **stack.env}},
                         indent=2), flush=True)
        print("local stack running; Ctrl-C to stop", file=sys.stderr, flush=True)
        try:
            while all(p.poll() is None for p in stack.processes):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="transcribe a folder of audio through the local stack")
    run_parser.add_argument("folder", type=Path)
    commands.add_parser("serve", help="start the stack and print its app settings")
    args = parser.parse_args(argv)
    # `kill` (SIGTERM) must end the stack's processes too, as Ctrl-C does: without this the interpreter
    # dies at once and Azurite, the emulator and the identity endpoint live on as orphans.
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    return run(args.folder) if args.command == "run" else serve()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
