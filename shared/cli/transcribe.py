"""Transcribe a local recording through the same code the functions run; print the transcript.

    python -m shared.transcribe FILE [--endpoint URL] [--language en-US] [--channels mix|separate]
                                     [--format json|txt|srt|vtt]

What a user runs to check their Speech setup before deploying, or to transcribe one file by hand. The
file goes through ``shared.pipeline.transcribe_audio`` exactly as a blob or an HTTP body does: the
same decoder, the same limits, one token fetched through ``shared.token`` (managed identity by default:
point ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` at the local stack, or set
``TOKEN_CREDENTIAL=azurecli`` to use your ``az login`` against Azure), one disposed Speech session.
Settings come from the environment like the app's; the options override them.

Exit status: 0 with the transcript on stdout; 1 with one line ``error: <code>: <message>`` on stderr
when the input or the service fails; 2 for a bad command line. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from pathlib import Path

from shared.errors import TranscriptionError
from shared.settings import CHANNEL_MODE, CHANNEL_MODES, SPEECH_ENDPOINT, SPEECH_LANGUAGE, Settings
from shared.subtitles import FORMATS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.transcribe", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the recording (any supported format; found from its content)")
    parser.add_argument("--endpoint", help="Speech endpoint: https://<name>.cognitiveservices.azure.com/ or "
                        "ws://host:port (emulator, container); default: SPEECH_ENDPOINT")
    parser.add_argument("--language", help="recognition locale, e.g. en-US; default: SPEECH_LANGUAGE or en-US")
    parser.add_argument("--channels", choices=CHANNEL_MODES,
                        help="mix (default) or separate: one speaker per channel (Channel-1, Channel-2)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="json", help="output format (default json)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    logging.getLogger("shared").setLevel(logging.WARNING if args.quiet else logging.INFO)
    env = dict(os.environ)
    for name, value in ((SPEECH_ENDPOINT, args.endpoint), (SPEECH_LANGUAGE, args.language),
                        (CHANNEL_MODE, args.channels)):
        if value:
            env[name] = value
    try:
        text = transcribe_file(args.file, Settings.from_env(env), args.format)
    except TranscriptionError as error:
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot read {args.file}: {error.strerror or error}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


def transcribe_file(path: Path, settings: Settings, output_format: str = "json") -> str:
    """The transcript of a local file, rendered in ``output_format``."""
    from shared.pipeline import transcribe_audio

    with path.open("rb") as stream:
        try:
            transcript = transcribe_audio(settings, stream, {"name": path.name, "size": path.stat().st_size})
        finally:
            gc.collect()  # release the SDK's native objects now, as the functions do
    text = FORMATS[output_format].render(transcript)
    return text if text.endswith("\n") else text + "\n"


if __name__ == "__main__":
    sys.exit(main())
