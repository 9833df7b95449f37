"""Fast transcription (the Speech service's synchronous REST engine): the recording's own bytes sent in one
request, the answer the same ``Segment``s as a real-time session's. A peer of ``shared.speech``, behind the
one transcription path; no native library, so importing it costs little.
"""

from __future__ import annotations

import time
from typing import BinaryIO

from shared.fast.body import MultipartBody
from shared.fast.client import send
from shared.fast.request import definition, transcribe_url
from shared.fast.result import fast_result
from shared.options import RecognitionOptions
from shared.output.phrases import RestResult
from shared.settings import Settings

__all__ = ["recognise_file"]


def recognise_file(
    settings: Settings,
    token: str,
    source: BinaryIO,
    size: int,
    *,
    channel_mode: str,
    options: RecognitionOptions,
    answer_seconds: float,
) -> RestResult:
    """Send ``size`` bytes of ``source`` (from where it is) with ``options``; the whole request, the upload
    included, ends within ``answer_seconds``."""
    deadline = time.monotonic() + answer_seconds
    body = MultipartBody(definition(options, channel_mode), source, size, filename=_filename(source), deadline=deadline)
    answer = send(
        transcribe_url(settings.speech_endpoint),
        token,
        body,
        stall_seconds=settings.speech_idle_timeout_seconds,
        answer_seconds=answer_seconds,
    )
    return fast_result(answer, options, channel_mode)


def _filename(source: BinaryIO) -> str:
    """The file part's name: the service finds the format from the content; a plain name keeps the header safe."""
    name = str(getattr(source, "name", "") or "audio")
    return "".join(c for c in name.rsplit("/", 1)[-1] if c.isalnum() or c in "._-")[:100] or "audio"
