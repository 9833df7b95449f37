"""The Speech SDK alone, in a loop, with the options of (e) and its parts: is the growth ours or not?

    python -m bench.bare_sdk [--n 1000] [--cases plain,words,phrases,...] [--allocators shipped,jemalloc]

If memory creeps with an option on through this project's blob door, the question is whether our code
keeps something (a cache, a list, a callback, a closure over an SDK object) or whether the SDK (or the
allocator under it) does. Each case here is the SDK's own sample pattern, nothing of ``shared/``: a
``SpeechConfig`` with a token fetched from the identity endpoint by plain HTTP, a ``ConversationTranscriber``
on a WAV file (``AudioConfig(filename=...)``), the option applied as the SDK documents it, wait for the
session to stop, stop, disconnect, drop every reference, ``gc.collect()``. The child records what
``bench.memory`` records after every iteration, so the two tables compare.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench import harness, memory_probe
from bench.memory_report import plot, summarise, table
from bench.memory_variants import ALLOCATORS, CANDIDATES, LONG_PHRASE_COUNT, SHORT_PHRASES, long_phrase_list
from local_stack.stack import ready_stack

#: Case -> what it turns on (the options of bench.memory's variants, applied the SDK's documented way).
CASES = {
    "plain": "the SDK alone, no option (as (a))",
    "words": "word timings, detailed output (as (w))",
    "phrases": "a phrase list of 4 (as (p))",
    "long-phrases": f"a phrase list of {LONG_PHRASE_COUNT} (as (l))",
    "words+phrases": "word timings and a phrase list of 4 (as (e))",
    "lid": f"language identification, {CANDIDATES} (as (i))",
}
DEFAULT_CASES = "plain,words+phrases"
#: The Speech resource's token audience (the identity endpoint's ``resource``).
SPEECH_RESOURCE = "https://cognitiveservices.azure.com"
#: How long one session may take before the iteration counts as failed.
SESSION_SECONDS = 60.0
#: What the child records after every session: ``bench.memory``'s figures, and the phrases that came back.
COLUMNS = (*memory_probe.SAMPLED, "seconds", "status", "phrases")


def run(
    stack, *, n: int, cases: tuple[str, ...], allocators: tuple[str, ...], out: Path | None = harness.OUT, echo=print
) -> dict:
    """Each case on each allocator in a fresh process against the stack's emulator; the report."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="stt-bare-") as tmp:
        wav = Path(tmp) / "clip.wav"
        wav.write_bytes(harness.wav_clip(harness.SHORT_AUDIO, harness.SHORT_SECONDS))
        for case in cases:
            for allocator in allocators:
                echo(f"{case} ({CASES[case]}) on {allocator}: {n} iterations ...")
                args = ["--child", case, "--allocator", allocator, "--wav", str(wav), "--n", str(n)]
                child = harness.run_child("bench.bare_sdk", args, timeout=300 + 60 * n, env=ALLOCATORS[allocator][1])
                name = case if allocator == "shipped" else f"{case}@{allocator}"
                results[name] = {**child, **summarise(child["samples"]), "label": f"bare SDK, {CASES[case]}"}
    report = {
        "n": n,
        "audio": f"first {harness.SHORT_SECONDS:g} s of {harness.SHORT_AUDIO.name}",
        "machine": harness.machine(),
        "variants": results,
        "allocators": {name: ALLOCATORS[name][0] for name in allocators},
    }
    echo(table(report))
    if out is not None:
        harness.save_report(report, out / "bare_sdk.json", plot, echo)
    return report


def fetch_token() -> str:
    """A Speech token from the identity endpoint, by plain HTTP (what a managed identity answers)."""
    query = urllib.parse.urlencode({"resource": SPEECH_RESOURCE, "api-version": "2019-08-01"})
    request = urllib.request.Request(
        f"{os.environ['IDENTITY_ENDPOINT']}?{query}", headers={"X-IDENTITY-HEADER": os.environ["IDENTITY_HEADER"]}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def transcribe(speechsdk, case: str, wav: str) -> int:
    """One session of ``case`` on ``wav``, every object dropped before returning; how many phrases came back."""
    config = speechsdk.SpeechConfig(endpoint=os.environ["SPEECH_ENDPOINT"])
    config.authorization_token = fetch_token()
    if "words" in case:
        config.output_format = speechsdk.OutputFormat.Detailed
        config.request_word_level_timestamps()
    kwargs = {}
    if case == "lid":
        config.set_property(speechsdk.PropertyId.SpeechServiceConnection_LanguageIdMode, "Continuous")
        kwargs["auto_detect_source_language_config"] = speechsdk.languageconfig.AutoDetectSourceLanguageConfig(
            languages=CANDIDATES.split(",")
        )
    else:
        config.speech_recognition_language = "en-US"
    audio = speechsdk.audio.AudioConfig(filename=wav)
    transcriber = speechsdk.transcription.ConversationTranscriber(speech_config=config, audio_config=audio, **kwargs)
    grammar = None
    if "phrases" in case:
        grammar = speechsdk.PhraseListGrammar.from_recognizer(transcriber)
        for phrase in (long_phrase_list() if case == "long-phrases" else SHORT_PHRASES).split(","):
            grammar.addPhrase(phrase)
        grammar.setWeight(1.5)
    done, phrases = threading.Event(), [0]
    transcriber.transcribed.connect(lambda evt: phrases.__setitem__(0, phrases[0] + bool(evt.result.text)))
    transcriber.session_stopped.connect(lambda evt: done.set())
    transcriber.canceled.connect(lambda evt: done.set())
    transcriber.start_transcribing_async().get()
    finished = done.wait(SESSION_SECONDS)
    transcriber.stop_transcribing_async().get()
    for signal in (transcriber.transcribed, transcriber.session_stopped, transcriber.canceled):
        signal.disconnect_all()
    del grammar, transcriber, audio, config, kwargs
    return phrases[0] if finished else -1


def child(case: str, allocator: str, wav: str, n: int) -> dict:
    """The measured process: ``n`` sessions of ``case``, one after the other, what it holds after each.

    The allocator is set as the product sets it (``shared.platform.allocator``: pinned, trimmed after each
    session), unless ``glibc``: that module only tunes glibc, so the comparison with ``bench.memory`` differs
    in the session code alone.
    """
    import azure.cognitiveservices.speech as speechsdk
    import psutil

    from shared.platform import allocator as project_allocator

    tuned = allocator != "glibc"
    if tuned:
        project_allocator.return_large_buffers_to_os()
    process = psutil.Process()
    recorder = memory_probe.Recorder(n, COLUMNS)
    baseline = harness.rss_bytes()
    for _ in range(n):
        started = time.perf_counter()
        phrases = transcribe(speechsdk, case, wav)
        if tuned:
            project_allocator.release_free_memory()
        gc.collect()
        recorder.add(
            {
                **memory_probe.sample(process),
                "seconds": time.perf_counter() - started,
                "status": "transcribed" if phrases > 0 else "failed",
                "phrases": phrases,
            }
        )
    return {
        "variant": case,
        "allocator": allocator,
        "allocator_seen": memory_probe.allocator_name(),
        "rss_baseline_mib": round(baseline / 2**20, 1),
        "samples": recorder.rows(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_sdk", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="sessions per case (default 1000)")
    parser.add_argument("--cases", default=DEFAULT_CASES, help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--allocators", default="shipped", help=f"comma-separated, of: {', '.join(ALLOCATORS)}")
    parser.add_argument("--out", type=Path, default=harness.OUT, help="where bare_sdk.json and bare_sdk.png go")
    parser.add_argument("--plot", type=Path, metavar="JSON", help="redraw the table and plot of a saved bare_sdk.json")
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--allocator", default="shipped", choices=sorted(ALLOCATORS), help=argparse.SUPPRESS)
    parser.add_argument("--wav", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        harness.write_json(args.json, child(args.child, args.allocator, args.wav, args.n))
        return 0
    if args.plot:
        harness.replot(args.plot, table, plot)
        return 0
    cases = tuple(c.strip() for c in args.cases.split(",") if c.strip())
    allocators = tuple(a.strip() for a in args.allocators.split(",") if a.strip())
    if not cases or set(cases) - set(CASES) or not allocators or set(allocators) - set(ALLOCATORS):
        parser.error(f"--cases takes {', '.join(CASES)}; --allocators takes {', '.join(ALLOCATORS)}")
    print("starting Azurite, the speech emulator and the identity endpoint ...", flush=True)
    with ready_stack() as stack:
        run(
            stack, n=args.n, cases=cases, allocators=allocators, out=args.out, echo=lambda line: print(line, flush=True)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
