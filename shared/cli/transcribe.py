"""Transcribe a local recording through the same code the functions run; print the transcript.

    python -m shared.transcribe FILE [--endpoint URL] [--channels mix|separate] [--format json|txt|srt|vtt]
        [--languages en-US,de-DE] [--phrases "A,B" | @FILE] [--phrase-weight W] [--words | --no-words]
        [--profanity masked|removed|raw] [--custom-endpoint-id ID] [--segmentation-silence-ms MS]
        [--channel-names Agent,Customer] [--diarization | --no-diarization]

What a user runs to check their Speech setup before deploying, or to transcribe one file by hand. The
file goes through ``shared.pipeline.transcribe_audio`` exactly as a blob or an HTTP body does: the
same decoder, the same limits, one token fetched through ``shared.credentials`` (managed identity by default:
point ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` at the local stack, set ``TOKEN_CREDENTIAL=azurecli``
to use your ``az login`` against Azure, or ``TOKEN_CREDENTIAL=none`` to fetch no token at all for a Speech
container or the emulator on a ``ws://`` or ``http://`` ``--endpoint``), one disposed Speech session.
Settings come from the environment like the app's; the options override them (``--no-words`` too,
over ``SPEECH_WORDS=true``).

Exit status: 0 with the transcript on stdout; 1 with one line ``error: <code>: <message>`` on stderr
when the input or the service fails; 2 for a bad command line (a bad option: ``error: invalid_options:
<option>: <rule>``). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from pathlib import Path

from shared.cli import print_error
from shared.errors import InvalidOptionsError, TranscriptionError
from shared.formats import FORMATS
from shared.options import PROFANITY_MODES, RecognitionOptions, parse_document, parse_text
from shared.settings import CHANNEL_MODE, CHANNEL_MODES, SPEECH_ENDPOINT, Settings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    logging.getLogger("shared").setLevel(logging.WARNING if args.quiet else logging.INFO)
    env = dict(os.environ)
    for name, value in ((SPEECH_ENDPOINT, args.endpoint), (CHANNEL_MODE, args.channels)):
        if value:
            env[name] = value
    try:
        settings = Settings.from_env(env)
        options = _options(args, settings)
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared.transcribe", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the recording (any supported format; found from its content)")
    parser.add_argument("--endpoint", help="Speech endpoint: https://<name>.cognitiveservices.azure.com/ or "
                        "ws://host:port (emulator, container); default: SPEECH_ENDPOINT")
    parser.add_argument("--channels", choices=CHANNEL_MODES,
                        help="mix (default) or separate: one speaker per channel (Channel-1, Channel-2)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="json", help="output format (default json)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    options = parser.add_argument_group("recognition options (default: the SPEECH_* settings; see shared/options.py)")
    options.add_argument("--languages", "--language", help="1-10 locales, e.g. en-US or en-US,de-DE,es-ES "
                         "(several: the language of each segment is identified)")
    options.add_argument("--phrases", help='a phrase list: "Zorvex,Quillana", or @FILE with one phrase a line')
    options.add_argument("--phrase-weight", help="0-2, how strongly the phrase list counts")
    options.add_argument("--words", action=argparse.BooleanOptionalAction,
                         help="every segment with its words, times, confidence (default: SPEECH_WORDS)")
    options.add_argument("--profanity", choices=PROFANITY_MODES)
    options.add_argument("--custom-endpoint-id", help="a custom model's endpoint id, or de-DE=<id>,en-US=<id>")
    options.add_argument("--segmentation-silence-ms", help="100-5000: the pause that ends a phrase")
    options.add_argument("--channel-names", help="with --channels separate: Agent,Customer")
    options.add_argument("--diarization", action=argparse.BooleanOptionalAction,
                         help="--no-diarization: one speaker for the whole recording (default: SPEECH_DIARIZATION)")
    return parser


def _options(args: argparse.Namespace, settings: Settings) -> RecognitionOptions:
    """The flags given, as option text over the settings' defaults (validated by ``shared.options``).

    A phrase file's lines are its phrases as they are (``Contoso, Ltd`` is one): they go as a list, never
    joined into text that would be split again at its commas.
    """
    from_file = args.phrases is not None and args.phrases.startswith("@")
    given = {"languages": args.languages, "phrases": None if from_file else args.phrases,
             "phrase_weight": args.phrase_weight, "words": _flag(args.words), "profanity": args.profanity,
             "custom_endpoint_id": args.custom_endpoint_id, "segmentation_silence_ms": args.segmentation_silence_ms,
             "channel_names": args.channel_names, "diarization": _flag(args.diarization)}
    options = parse_text({name: value for name, value in given.items() if value is not None}, settings.recognition,
                         channel_mode=settings.channel_mode)
    if from_file:
        options = parse_document({"phrases": _phrase_file(Path(args.phrases[1:]))}, options,
                                 channel_mode=settings.channel_mode)
    return options


def _flag(value: bool | None) -> str | None:
    """A ``--flag``/``--no-flag`` as option text; ``None`` when neither was given (the setting stands)."""
    return None if value is None else str(value).lower()


def _phrase_file(path: Path) -> list[str]:
    """The non-blank lines of a phrase file, one phrase each."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InvalidOptionsError(f"phrases: cannot read {path}: {error.strerror or error}") from None
    return [line.strip() for line in lines if line.strip()]


def transcribe_file(path: Path, settings: Settings, output_format: str = "json",
                    options: RecognitionOptions | None = None) -> str:
    """The transcript of a local file, rendered in ``output_format``."""
    from shared.pipeline import transcribe_audio

    with path.open("rb") as stream:
        try:
            transcript = transcribe_audio(settings, stream, {"name": path.name, "size": path.stat().st_size},
                                          options=options)
        finally:
            gc.collect()  # release the SDK's native objects now, as the functions do
    text = FORMATS[output_format].render(transcript)
    return text if text.endswith("\n") else text + "\n"

