"""Synthetic speech for tests: espeak-ng speaks, sox converts to the WAV the pipeline expects.

Real recordings cannot be committed or downloaded here; espeak-ng (Debian) gives intelligible,
repeatable speech, and two of its voices differ enough in pitch to test diarization.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

#: A male US and a female British voice: clearly different pitch for diarization tests.
#: Not "en-gb+f3": espeak-ng 1.51 (Debian) ignores the "+f3" variant after "en-gb" and speaks the
#: male voice at the same ~105 Hz as VOICE_A; "en+f3" is the same British voice as female, ~210 Hz.
VOICE_A = "en-us"
VOICE_B = "en+f3"


def require_tools() -> None:
    """Fail with a clear message when espeak-ng or sox is missing (``.ci/run`` installs both)."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"missing {', '.join(missing)}: apt-get install -y espeak-ng sox")


def speak(
    text: str, out: Path, *, voice: str = VOICE_A, rate: int = 16000, channels: int = 1, words_per_minute: int = 150
) -> Path:
    """Say ``text`` with espeak-ng and write a 16-bit PCM WAV at ``rate`` Hz to ``out``.

    ``sox -D``: no dither. sox dithers with random noise by default, so every run made different
    bytes and a recogniser's output (and any WER assertion) flickered between runs.
    """
    require_tools()
    raw = out.with_suffix(".espeak.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-D", str(raw), "-r", str(rate), "-c", str(channels), "-b", "16", "-e", "signed-integer", str(out)],
        check=True,
    )
    raw.unlink()
    return out


def silence(out: Path, seconds: float, *, rate: int = 16000) -> Path:
    """Write ``seconds`` of digital silence as a 16-bit mono WAV."""
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return out


def concat(parts: list[Path], out: Path, *, gap_seconds: float = 0.8) -> Path:
    """Join WAVs with a pause between them (a pause is where phrases are split)."""
    require_tools()
    gap = silence(out.with_suffix(".gap.wav"), gap_seconds)
    inputs: list[str] = []
    for i, part in enumerate(parts):
        if i:
            inputs.append(str(gap))
        inputs.append(str(part))
    subprocess.run(["sox", *inputs, str(out)], check=True)
    gap.unlink()
    return out


def duration_seconds(path: Path) -> float:
    """Length of a PCM WAV in seconds."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


#: Three sentences used across the suite; the reference for WER checks.
THREE_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please send the quarterly report to the finance team by Friday.",
    "We will meet again next week to review the results.",
]

#: Alternating lines for the two-voice (diarization) recording: voice A, B, A, B.
DIALOGUE = [
    (VOICE_A, "Good morning, thank you for calling the help desk."),
    (VOICE_B, "Hello, my laptop will not connect to the network."),
    (VOICE_A, "Have you tried restarting the wireless adapter?"),
    (VOICE_B, "Yes, I restarted it twice and nothing changed."),
]


def three_sentences(out: Path, *, voice: str = VOICE_A, words_per_minute: int = 150) -> Path:
    """One voice, three sentences with pauses between them."""
    parts = [
        speak(s, out.with_name(f"{out.stem}-{i}.wav"), voice=voice, words_per_minute=words_per_minute)
        for i, s in enumerate(THREE_SENTENCES)
    ]
    concat(parts, out)
    for p in parts:
        p.unlink()
    return out


def dialogue(out: Path) -> Path:
    """Two voices alternating, pauses between turns."""
    parts = [speak(t, out.with_name(f"{out.stem}-{i}.wav"), voice=v) for i, (v, t) in enumerate(DIALOGUE)]
    concat(parts, out)
    for p in parts:
        p.unlink()
    return out


def dialogue_with_timeline(out: Path, *, gap_seconds: float = 0.8) -> tuple[Path, list[tuple[str, float, float]]]:
    """Like ``dialogue``, plus where each line lies: ``(voice, start_s, end_s)`` per DIALOGUE line.

    Diarization checks need ground truth per phrase; the spans include espeak-ng's own leading and
    trailing quiet, so a recognised phrase's midpoint falls inside the span of the line it came from.
    """
    parts = [speak(t, out.with_name(f"{out.stem}-{i}.wav"), voice=v) for i, (v, t) in enumerate(DIALOGUE)]
    timeline: list[tuple[str, float, float]] = []
    start = 0.0
    for (voice, _text), part in zip(DIALOGUE, parts, strict=True):
        length = duration_seconds(part)
        timeline.append((voice, start, start + length))
        start += length + gap_seconds
    concat(parts, out, gap_seconds=gap_seconds)
    for p in parts:
        p.unlink()
    return out, timeline


#: Short sentences of common words, one per recording, for tests of many at once: a transcript must
#: match its own sentence, not a neighbour's. Chosen because the emulator's tiny.en model gets each
#: right word for word, spoken alone; many short sentences it does not.
SHORT_SENTENCES = [
    "Please close the kitchen window.",
    "We planted tomatoes in the garden.",
    "The museum opens on Monday.",
    "The library is very quiet.",
    "I lost my keys yesterday.",
    "Call the doctor after lunch.",
    "We watched a movie at home.",
    "The printer needs more paper.",
    "Open the door for the guests.",
    "Please send the report today.",
    "My brother lives in Chicago.",
    "The coffee is too hot to drink.",
    "The garden looks lovely in June.",
    "The meeting room is on the second floor.",
    "The kitchen light is broken.",
    "Our team won the game last night.",
    "The hotel is close to the station.",
    "He forgot his phone at work.",
    "The weather will be sunny tomorrow.",
    "I will call you after the meeting.",
    "The price of bread went up.",
    "The parking lot is full today.",
    "The dog is sleeping in the sun.",
    "We will meet at the front desk.",
]


#: An English, then a German, then a Spanish sentence: ``(espeak-ng voice, locale, text)``.
MULTILINGUAL = [
    ("en-us", "en-US", "Please send the quarterly report to the finance team by Friday."),
    ("de", "de-DE", "Wir treffen uns morgen früh am Bahnhof."),
    ("es", "es-ES", "Nos vemos mañana por la mañana en la estación."),
]
#: Two made-up names a phrase list must make recognisable, and a sentence that says both.
NAMES = ("Zorvex", "Quillana")
NAMES_SENTENCE = "Please ask Zorvex to send the contract to Quillana before noon."
#: Voices and rates the names sentence is spoken in: recognition of one recording is deterministic, so
#: "how often" is measured over different recordings.
NAME_VARIANTS = [("en-us", 150), ("en-us", 130), ("en", 150), ("en+f3", 150), ("en-us+m3", 170)]
PROFANE_SENTENCE = "Oh crap, the damn printer is jammed again."
PROFANE = ("crap", "damn")


def spoken(folder: Path, name: str, lines: list[tuple[str, str]], *, gap: float = 0.8) -> Path:
    """``lines`` of ``(voice, text)`` spoken one after another with pauses between them."""
    parts = [
        speak(text, folder / f"{name}-{i}.wav", voice=voice, words_per_minute=140)
        for i, (voice, text) in enumerate(lines)
    ]
    return concat(parts, folder / f"{name}.wav", gap_seconds=gap)
