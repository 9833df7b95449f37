"""Transcribe a local recording through the same code the functions run; print the transcript.

    python -m shared.transcribe FILE [--endpoint URL] [--channels mix|separate] [--format json|txt|srt|vtt]
        [--<option> VALUE ...]   (every recognition option: --help lists them)

The same decoder, limits, token and disposed Speech session as a blob or an HTTP body; with ``--engine batch``
the file goes to the input container as a job, as the service reads it from there (``shared.batch.command``).
Settings come from the environment (``TOKEN_CREDENTIAL=azurecli`` for your ``az login``); the flags override
them. Exit status: 0 with the transcript on stdout; 1 with ``error: <code>: <message>`` on stderr; 2 for a bad
command line.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from pathlib import Path

from shared.errors import InvalidOptionsError, TranscriptionError, print_error
from shared.options import OPTIONS, RecognitionOptions, parse_document, parse_text
from shared.options.declared import BATCH
from shared.output.formats import FORMATS
from shared.output.transcript import Transcript
from shared.settings import CHANNEL_MODE, CHANNEL_MODES, SPEECH_ENDPOINT, Settings


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    logging.getLogger("shared").setLevel(logging.WARNING if args.quiet else logging.INFO)
    env = dict(os.environ)
    for name, value in ((SPEECH_ENDPOINT, args.endpoint), (CHANNEL_MODE, args.channels)):
        if value:
            env[name] = value
    try:
        settings = Settings.from_env(env)
        options = options_from_flags(args, settings)
        text = transcribe_file(args.file, settings, args.format, options)
    except InvalidOptionsError as error:  # a bad option on the command line: a usage error
        print_error(error)
        return 2
    except TranscriptionError as error:
        print_error(error)
        return 1
    except OSError as error:
        print(f"error: cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared.transcribe", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the recording (any supported format; found from its content)")
    parser.add_argument(
        "--endpoint",
        help="Speech endpoint: https://<name>.cognitiveservices.azure.com/ or "
        "ws://host:port (emulator, container); default: SPEECH_ENDPOINT",
    )
    parser.add_argument(
        "--channels",
        choices=CHANNEL_MODES,
        help="mix (default) or separate: one speaker per channel (Channel-1, Channel-2)",
    )
    parser.add_argument("--format", choices=sorted(FORMATS), default="json", help="output format (default json)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    group = parser.add_argument_group("recognition options (default: each one's setting; a list as @FILE: a line each)")
    for option in OPTIONS:
        group.add_argument(
            option.flag,
            *option.aliases,
            dest=option.name,
            help=f"{option.help} ({option.setting})",
            **option.kind.cli(),
        )
    return parser


def options_from_flags(args: argparse.Namespace, settings: Settings) -> RecognitionOptions:
    """The flags given, as option text over the settings' defaults; a list's ``@FILE`` lines go as a list, never
    joined into text that would be split again at its commas (``Contoso, Ltd`` is one item)."""
    given: dict[str, str] = {}
    from_files: dict[str, list[str]] = {}
    for option in OPTIONS:
        value = getattr(args, option.name)
        if value is None:
            continue
        if isinstance(value, bool):
            given[option.name] = str(value).lower()
        elif option.kind.json_type == "array" and value.startswith("@"):
            from_files[option.name] = _lines(option.name, Path(value[1:]))
        else:
            given[option.name] = value
    options = parse_text(given, settings.recognition, channel_mode=settings.channel_mode)
    if from_files:
        options = parse_document(from_files, options, channel_mode=settings.channel_mode)
    return options


def _lines(name: str, path: Path) -> list[str]:
    """The non-blank lines of a list option's file, one item each."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InvalidOptionsError(f"{name}: cannot read {path}: {error.strerror or error}") from None
    return [line.strip() for line in lines if line.strip()]


def transcribe_file(
    path: Path, settings: Settings, output_format: str = "json", options: RecognitionOptions | None = None
) -> str:
    """The transcript of a local file, rendered in ``output_format``."""
    if options is not None and options.engine == BATCH:
        from shared.batch.command import transcribe_by_batch

        return _rendered(transcribe_by_batch(path, settings, options), output_format)
    from shared.pipeline import transcribe_audio

    with path.open("rb") as stream:
        try:
            transcript = transcribe_audio(
                settings, stream, {"name": path.name, "size": path.stat().st_size}, options=options
            )
        finally:
            gc.collect()  # release the SDK's native objects now, as the functions do
    return _rendered(transcript, output_format)


def _rendered(transcript: Transcript, output_format: str) -> str:
    text = FORMATS[output_format].render(transcript)
    return text if text.endswith("\n") else text + "\n"


if __name__ == "__main__":
    sys.exit(main())
