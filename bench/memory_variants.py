"""What each variant of the memory run turns on, and which allocator a run uses.

Variant (e) turns on two recognition options at once, and issue 27 measured it creeping where (a) did not.
To find which part of it grows, ``p``, ``l``, ``w``, ``i`` and ``s`` each turn on one part of it, or one more
option a recording can ask for, as the app's defaults (``SPEECH_*`` settings in the child's environment), so
the blob door applies them exactly as it would for a real recording.

The allocator is the other half of the question: memory the native side frees may stay resident (glibc keeps
freed chunks in its arenas) or go back to the OS. ``ALLOCATORS`` runs the same variant on glibc as the
project sets it (``shared.platform.allocator``: the mmap threshold pinned, the arenas trimmed after each
recording), on glibc as it comes, with ``MALLOC_ARENA_MAX=2``, or on jemalloc (``LD_PRELOAD``, Debian's
``libjemalloc2``).
"""

from __future__ import annotations

import io
import wave
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from bench import harness
from shared.options import OPTION_SETTINGS
from shared.options.declared import FAST, OPTIONS_BY_NAME
from shared.settings.names import CHANNEL_MODE

#: The four names of (e)'s phrase list: two the emulator's recogniser would not spell right without it.
SHORT_PHRASES = "Zorvex,Quillana,Contoso,Fabrikam"
#: The most phrases a recording may ask for.
LONG_PHRASE_COUNT = OPTIONS_BY_NAME["phrases"].kind.most
#: Language identification among two candidates: continuous, a language per phrase.
CANDIDATES = "en-US,de-DE"
#: The second channel of the stereo clip: another voice from the committed samples.
SECOND_CHANNEL_AUDIO = harness.SAMPLES / "help-desk-call.wav"


def long_phrase_list(count: int = LONG_PHRASE_COUNT) -> str:
    """``count`` distinct phrases of two to four words, as a ``SPEECH_PHRASES`` value (comma-separated)."""
    names = ("Zorvex", "Quillana", "Contoso", "Fabrikam", "Northwind", "Tailspin", "Wingtip", "Litware")
    things = ("order", "ticket", "router", "invoice", "laptop", "account", "contract", "server")
    return ",".join(
        f"{names[i % 8]} {things[i // 8 % 8]} {i:03d}" + (" desk" if i % 3 == 0 else "") for i in range(count)
    )


@dataclass(frozen=True)
class Variant:
    """One way of running N invocations: the app settings it adds, its audio, and how the invocations run."""

    label: str
    settings: dict[str, str] = field(default_factory=dict)
    #: The audio is a two-channel clip (for ``CHANNEL_MODE=separate``).
    stereo: bool = False
    #: The seed's pattern (``bench/seed_pattern.py``) instead of the shipped session.
    seed: bool = False
    #: The blob door's ``gc.collect()`` after each invocation.
    collect: bool = True
    #: Python's automatic collector off as well.
    gc_off: bool = False
    #: Every transcript must carry word timings / a language per segment / come from this engine (proof the
    #: settings reached the pipeline).
    expects_words: bool = False
    expects_language: bool = False
    expects_engine: str | None = None


PHRASES = {OPTION_SETTINGS["phrases"]: SHORT_PHRASES, OPTION_SETTINGS["phrase_weight"]: "1.5"}
LONG_PHRASES = {OPTION_SETTINGS["phrases"]: long_phrase_list(), OPTION_SETTINGS["phrase_weight"]: "1.5"}
WORDS = {OPTION_SETTINGS["words"]: "true"}

VARIANTS: dict[str, Variant] = {
    "a": Variant("as shipped"),
    "b": Variant(
        "seed pattern (cached singleton + credential, SDK objects never disposed, no GC)", seed=True, collect=False
    ),
    "c": Variant("as shipped without gc.collect()", collect=False),
    "d": Variant(
        "seed pattern with the automatic GC off too (nothing ever reclaims a session)",
        seed=True,
        collect=False,
        gc_off=True,
    ),
    "e": Variant("as shipped with words and a phrase list on", {**WORDS, **PHRASES}, expects_words=True),
    "f": Variant("as shipped through the fast engine", {OPTION_SETTINGS["engine"]: FAST}, expects_engine=FAST),
    "p": Variant("a phrase list only (4 phrases)", PHRASES),
    "l": Variant(f"a long phrase list only ({LONG_PHRASE_COUNT} phrases)", LONG_PHRASES),
    "w": Variant("word timings only", WORDS, expects_words=True),
    "i": Variant(
        f"language identification ({CANDIDATES})", {OPTION_SETTINGS["languages"]: CANDIDATES}, expects_language=True
    ),
    "s": Variant("separate channels (a stereo clip, two sessions)", {CHANNEL_MODE: "separate"}, stereo=True),
}
#: What ``make bench`` runs; ``d`` is the bound on what (b) can retain, run on request (--variants abcd).
DEFAULT_VARIANTS = "abcef"
#: (e) and its parts, each on its own (issue 27).
SPLIT_VARIANTS = "eplwis"

#: Debian's ``libjemalloc2``; the ``jemalloc`` allocator needs it installed.
JEMALLOC = Path("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")

#: Allocator name -> (what it is, the environment the measured process starts with).
ALLOCATORS: dict[str, tuple[str, dict[str, str]]] = {
    "shipped": ("glibc with the project's settings (shared.platform.allocator)", {}),
    "glibc": ("glibc as it comes (shared.platform.allocator's settings skipped)", {}),
    "arena2": ("glibc with MALLOC_ARENA_MAX=2 and the project's settings", {"MALLOC_ARENA_MAX": "2"}),
    "jemalloc": ("jemalloc (LD_PRELOAD) and the project's settings", {"LD_PRELOAD": str(JEMALLOC)}),
}


def child_env(variant: Variant, allocator: str) -> dict[str, str]:
    """The measured process's added environment: the variant's app settings and the allocator's variables."""
    if allocator == "jemalloc" and not JEMALLOC.exists():
        raise RuntimeError(f"{JEMALLOC} is missing: apt-get install libjemalloc2")
    return {**variant.settings, **ALLOCATORS[allocator][1]}


def clip(variant: Variant, audio: Path, seconds: float | None) -> bytes:
    """The WAV each invocation of ``variant`` transcribes: ``audio``'s clip, or a stereo one for ``s``.

    The stereo clip has ``audio``'s clip on the left and the same length of another voice on the right, so
    each channel's session has speech of its own.
    """
    left = harness.wav_clip(audio, seconds)
    if not variant.stereo:
        return left
    with wave.open(io.BytesIO(left)) as first, wave.open(str(SECOND_CHANNEL_AUDIO)) as second:
        for wav in (first, second):
            if (wav.getsampwidth(), wav.getnchannels()) != (2, 1) or wav.getframerate() != first.getframerate():
                raise ValueError(f"a stereo clip needs 16-bit mono WAVs of one rate: {audio}, {SECOND_CHANNEL_AUDIO}")
        frames, rate = first.getnframes(), first.getframerate()
        channels = array("h", first.readframes(frames)), array("h", second.readframes(frames))
    if len(channels[1]) < frames:
        raise ValueError(f"{SECOND_CHANNEL_AUDIO.name} is shorter than the clip")
    stereo = array("h", bytes(4 * frames))
    stereo[0::2], stereo[1::2] = channels
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(stereo.tobytes())
    return buffer.getvalue()
