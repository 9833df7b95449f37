"""A start the Speech service refused, tried again: a session, a fast request or a batch submission.

The waits come from ``shared.platform.retry_policy``; the budget is ``SPEECH_START_RETRY_SECONDS`` (or a
request's shorter one). An endpoint that takes no connection at all is named after a short retry instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from shared.errors import SpeechUnreachableError, ThrottledError, TranscriptionError
from shared.platform.reachability import unreachable
from shared.platform.retry_policy import UNREACHABLE_RETRY_SECONDS, start_retry_delay
from shared.settings import SPEECH_ENDPOINT

log = logging.getLogger(__name__)
T = TypeVar("T")


def retrying(endpoint: str, budget: float, attempt: Callable[[], T], *, restart: Callable[[], bool]) -> T:  # noqa: UP047 - tools/comment_ratio.py parses with older Pythons
    """``attempt()``, tried again while the service refuses it at the start (``StartRetries``), each try after
    ``restart()`` has put the audio back to its start."""
    retries = StartRetries(endpoint, budget)
    while True:
        try:
            return attempt()
        except TranscriptionError as error:
            wait = retries.wait_after(error, can_restart=restart)
            log.info(
                "%s; try %d in %.1f s (%.0f s of SPEECH_START_RETRY_SECONDS left)",
                error.message,
                retries.tries,
                wait,
                retries.give_up_at - time.monotonic(),
            )
            time.sleep(wait)


class StartRetries:
    """When to try a refused start again, and when to stop: after ``budget`` seconds, or sooner, naming the
    setting, when ``SPEECH_ENDPOINT`` takes no connection at all."""

    def __init__(self, endpoint: str, budget: float) -> None:
        self.endpoint, self.tries = endpoint, 1
        self.began = time.monotonic()
        self.give_up_at = self.began + budget

    def wait_after(self, error: TranscriptionError, *, can_restart: Callable[[], bool]) -> float:
        """Seconds to wait before the next try; raises when there is none."""
        if not error.refused_at_start:
            raise error
        why = None if error.code == ThrottledError.code else unreachable(self.endpoint)
        now = time.monotonic()
        if why is not None and now - self.began >= UNREACHABLE_RETRY_SECONDS or now >= self.give_up_at:
            if why is not None:
                raise SpeechUnreachableError(
                    f"{SPEECH_ENDPOINT} could not be reached: {why} ({self.tries} tries in {now - self.began:.0f} s; "
                    "tried again later)",
                    details=error.details,
                    sdk_error_code=error.sdk_error_code,
                ) from None
            raise error
        if not can_restart():
            raise error
        stop = self.give_up_at if why is None else min(self.give_up_at, self.began + UNREACHABLE_RETRY_SECONDS)
        wait = min(start_retry_delay(self.tries - 1), max(stop - now, 0.0))
        self.tries += 1
        return wait
