"""Pause splitting: cut a stream of samples into phrases where the speaker stops.

The service reports one ``speech.phrase`` per utterance, each with its own offset, and it does so
while audio is still arriving. A plain energy detector does the same here: a phrase starts at
the first loud frame and ends after ``min_pause`` of quiet, so each phrase can be recognised as
soon as it is complete and long files stream instead of waiting for the end of the audio.
Only the current phrase is buffered, so memory does not grow with the length of the file.

The background level is the quietest frame of the last few seconds (minimum statistics), not an
average of the frames judged quiet: that average could never learn a background that is already
louder than the speech threshold when the audio starts (hiss, hum, a DC offset), so every frame
stayed "speech" and a whole recording came back as one phrase, pauses and all.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

FRAME_SECONDS = 0.02
#: A frame is speech when it is this loud in dBFS at least (quiet recordings stay audible)...
ABSOLUTE_THRESHOLD_DB = -50.0
#: ...and this far above the background level (noisy recordings).
MARGIN_DB = 12.0
#: The background level is the quietest frame in this many seconds: longer than any stretch of
#: speech without a dip between words, short enough to follow a change of room or microphone.
NOISE_WINDOW_SECONDS = 3.0
#: What the background is assumed to be before the window has seen any quiet (ages out with it).
INITIAL_NOISE_DB = -70.0


@dataclass(frozen=True)
class Segment:
    """One phrase: ``samples`` (with a little context either side) and where its speech lies.

    All positions are sample indices from the start of the turn's audio, at the stream's rate.
    """

    start: int
    samples: np.ndarray
    speech_start: int
    speech_end: int


class PauseSplitter:
    """Streaming energy VAD for one turn; ``feed`` returns the phrases finished so far."""

    def __init__(
        self,
        sample_rate: int,
        *,
        min_pause: float = 0.5,
        min_speech: float = 0.12,
        max_phrase: float = 25.0,
        padding: float = 0.15,
    ) -> None:
        self.sample_rate = sample_rate
        self.frame = max(1, round(sample_rate * FRAME_SECONDS))
        self._min_pause = max(1, round(min_pause / FRAME_SECONDS))
        self._min_speech = max(1, round(min_speech / FRAME_SECONDS))
        # Whisper sees at most 30 s at a time; cutting earlier keeps every phrase in one window.
        self._max_phrase = max(1, round(max_phrase / FRAME_SECONDS))
        self._padding = round(padding / FRAME_SECONDS)
        self._pending = np.zeros(0, dtype=np.float32)
        self._position = 0  # sample index of the next frame
        self._levels: deque[float] = deque([INITIAL_NOISE_DB], maxlen=round(NOISE_WINDOW_SECONDS / FRAME_SECONDS))
        self._preroll: deque[np.ndarray] = deque(maxlen=max(1, self._padding))
        self._frames: list[np.ndarray] = []
        self._start = 0
        self._speech_frames = 0
        self._last_speech = 0  # number of frames in the phrase up to and including its last loud one
        self._first_speech = 0
        self.speech_onset: int | None = None  # first speech sample of the turn: speech.startDetected

    @property
    def samples_seen(self) -> int:
        """Samples received so far, including a partial frame."""
        return self._position + len(self._pending)

    def feed(self, samples: np.ndarray) -> list[Segment]:
        """Add samples; return the phrases that a pause has completed."""
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = len(data) - len(data) % self.frame
        self._pending = data[whole:].copy()
        done: list[Segment] = []
        for begin in range(0, whole, self.frame):
            segment = self._step(data[begin : begin + self.frame])
            if segment is not None:
                done.append(segment)
        return done

    def flush(self) -> list[Segment]:
        """End of audio: the phrase in progress (and a trailing partial frame) is finished."""
        done: list[Segment] = []
        if len(self._pending):
            segment = self._step(self._pending)
            self._pending = np.zeros(0, dtype=np.float32)
            if segment is not None:
                done.append(segment)
        segment = self._close(trim=True)
        if segment is not None:
            done.append(segment)
        return done

    def _is_speech(self, frame: np.ndarray) -> bool:
        """Loud enough, and far enough above the background, to be speech (DC offset ignored)."""
        centred = frame.astype(np.float64) - frame.mean() if len(frame) else frame
        rms = float(np.sqrt(np.mean(centred**2))) if len(frame) else 0.0
        level = 20.0 * np.log10(rms) if rms > 1e-5 else -100.0
        loud = level > max(ABSOLUTE_THRESHOLD_DB, min(self._levels) + MARGIN_DB)
        self._levels.append(level)
        return loud

    def _step(self, frame: np.ndarray) -> Segment | None:
        speech = self._is_speech(frame)
        position = self._position
        self._position += len(frame)
        if not self._frames:
            if not speech:
                self._preroll.append(frame)
                return None
            self._frames = list(self._preroll)
            self._preroll.clear()
            self._start = position - sum(len(f) for f in self._frames)
            self._first_speech = len(self._frames)
            self._speech_frames = 0
            if self.speech_onset is None:
                self.speech_onset = position
        self._frames.append(frame)
        if speech:
            self._speech_frames += 1
            self._last_speech = len(self._frames)
        if len(self._frames) - self._last_speech >= self._min_pause:
            return self._close(trim=True)
        if len(self._frames) >= self._max_phrase:
            return self._close(trim=False)
        return None

    def _close(self, *, trim: bool) -> Segment | None:
        """Finish the current phrase; a too-short burst (a click) is dropped, not reported."""
        if not self._frames:
            return None
        frames = self._frames
        keep = min(len(frames), self._last_speech + self._padding) if trim else len(frames)
        self._frames = []
        if trim:
            self._preroll.extend(frames[keep:])
        if self._speech_frames < self._min_speech:
            return None
        samples = np.concatenate(frames[:keep])
        speech_start = self._start + sum(len(f) for f in frames[: self._first_speech])
        speech_end = self._start + sum(len(f) for f in frames[: self._last_speech])
        return Segment(start=self._start, samples=samples, speech_start=speech_start, speech_end=speech_end)
