"""Speaker labels for the conversation transcriber: phrases clustered by voice pitch.

Whisper does not diarize, and the transcriber's contract is only that one voice keeps one
``Guest-N`` label within a session. The median fundamental frequency of a phrase separates the
voices tests use (a low male and a high female espeak-ng voice) and is cheap enough to compute
per phrase while streaming, so clustering is online: a phrase joins the nearest known voice when
it is close enough in pitch, otherwise it starts a new speaker. No speaker embeddings, no model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Plausible speaking pitch range; lags outside it are never chosen.
MIN_F0_HZ = 60.0
MAX_F0_HZ = 400.0
#: Two phrases further apart than this (in semitones) are taken as two voices. Adult speakers
#: differ by about an octave (12 semitones) between sexes; one speaker's phrase medians wander
#: by a few semitones.
NEW_SPEAKER_SEMITONES = 4.0


def estimate_pitch(samples: np.ndarray, sample_rate: int = 16000) -> float | None:
    """Median F0 in Hz over the voiced frames of ``samples`` (mono float), or None if unvoiced.

    Autocorrelation per 40 ms frame: a frame counts as voiced when it is loud (within 25 dB of
    the phrase's loudest frame) and periodic (normalised autocorrelation peak above 0.5).
    """
    frame = int(0.04 * sample_rate)
    hop = int(0.02 * sample_rate)
    if len(samples) < frame:
        return None
    count = 1 + (len(samples) - frame) // hop
    idx = np.arange(frame)[None, :] + hop * np.arange(count)[:, None]
    frames = samples[idx].astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    energy = (frames**2).sum(axis=1)
    level_db = 10 * np.log10(energy + 1e-12)
    loud = level_db > level_db.max() - 25
    if not loud.any():
        return None
    frames = frames[loud] * np.hanning(frame)
    size = 1 << (2 * frame - 1).bit_length()
    spectrum = np.fft.rfft(frames, size, axis=1)
    corr = np.fft.irfft(np.abs(spectrum) ** 2, size, axis=1)[:, :frame]
    corr /= corr[:, :1] + 1e-12
    lo, hi = int(sample_rate / MAX_F0_HZ), int(sample_rate / MIN_F0_HZ)
    window = corr[:, lo:hi]
    best = window.argmax(axis=1)
    peak = window[np.arange(len(window)), best]
    voiced = peak > 0.5
    if voiced.sum() < 3:
        return None
    lags = best[voiced] + lo
    return float(np.median(sample_rate / lags))


def _semitones(f0: float) -> float:
    return 12.0 * float(np.log2(f0 / 55.0))


@dataclass
class _Voice:
    label: str
    centre: float | None  # semitones above 55 Hz; None until a voiced phrase is assigned
    phrases: int = 0


@dataclass
class SpeakerClusters:
    """Online pitch clustering for one session; continuation turns share it."""

    threshold: float = NEW_SPEAKER_SEMITONES
    max_speakers: int | None = None  # the REST APIs' maxSpeakers: past it, a phrase joins the nearest voice
    _voices: list[_Voice] = field(default_factory=list)
    _last: _Voice | None = None

    def assign(self, f0: float | None) -> str:
        """Label for a phrase with median pitch ``f0``; an unvoiced phrase keeps the last speaker."""
        if f0 is None:
            voice = self._last or self._new()
        else:
            pitch = _semitones(f0)
            voice = self._nearest(pitch)
            voice.phrases += 1
            voice.centre = pitch if voice.centre is None else voice.centre + (pitch - voice.centre) / voice.phrases
        self._last = voice
        return voice.label

    def _nearest(self, pitch: float) -> _Voice:
        """The closest voice within the threshold, else a voice not yet placed, else a new one.

        With ``max_speakers`` reached, the closest voice whatever its distance: the hint is an upper bound.
        """
        best: _Voice | None = None
        full = self.max_speakers is not None and len(self._voices) >= self.max_speakers
        distance = float("inf") if full else self.threshold
        for voice in self._voices:
            if voice.centre is not None and abs(voice.centre - pitch) <= distance:
                best, distance = voice, abs(voice.centre - pitch)
        if best is not None:
            return best
        return next((v for v in self._voices if v.centre is None), None) or self._new()

    def _new(self) -> _Voice:
        voice = _Voice(label=f"Guest-{len(self._voices) + 1}", centre=None)
        self._voices.append(voice)
        return voice
