"""Measurements behind the figures in speech_emulator/README.md; too slow for the test suite.

    .venv/bin/python -m speech_emulator.bench concurrency   # --recognizers 1 vs 2, 2-4 parallel sessions
    .venv/bin/python -m speech_emulator.bench quota         # how long the SDK takes to give up on a 429
    .venv/bin/python -m speech_emulator.bench multilingual  # multilingual model: RSS, load, per phrase
    .venv/bin/python -m speech_emulator.bench phrase-list   # names right with and without a phrase list
    .venv/bin/python -m speech_emulator.bench websocket     # upgrade latency and short sessions (the ws path)

Speech comes from espeak-ng through the test suite's own helpers (``tests.speech_audio``), so run it
from the repository root. Each figure is printed as one line; the machine's load average is printed
first, because on a shared 2-core machine it changes every figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from .audio import PcmDecoder
from .process import start_emulator

TICKS = 10_000_000


def _session(url: str, wav: Path, *, timeout: float = 300.0) -> tuple[float, str | None]:
    """One ConversationTranscriber session over ``wav``: (seconds to session_stopped, error or None)."""
    import azure.cognitiveservices.speech as speechsdk

    config = speechsdk.SpeechConfig(endpoint=url)
    config.authorization_token = "bench"
    config.set_property_by_name("SPEECH-TransmitLengthBeforeThrottleMs", "600000")
    transcriber = speechsdk.transcription.ConversationTranscriber(
        config, audio_config=speechsdk.audio.AudioConfig(filename=str(wav))
    )
    done, error = threading.Event(), []

    def canceled(event: speechsdk.transcription.ConversationTranscriptionCanceledEventArgs) -> None:
        if event.cancellation_details.reason == speechsdk.CancellationReason.Error:
            error.append(f"{event.cancellation_details.code.name}: {event.cancellation_details.error_details[:80]}")
            done.set()

    transcriber.canceled.connect(canceled)
    transcriber.session_stopped.connect(lambda _event: done.set())
    started = time.monotonic()
    transcriber.start_transcribing_async().get()
    done.wait(timeout)
    elapsed = time.monotonic() - started
    transcriber.canceled.disconnect_all()
    transcriber.session_stopped.disconnect_all()
    if not error:
        transcriber.stop_transcribing_async().get()
    return elapsed, (error[0] if error else None)


def _peak_rss(pid: int, stop: threading.Event, out: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.wait(0.05):
        out.append(process.memory_info().rss)


def _parallel(url: str, wav: Path, k: int, pid: int) -> tuple[list[tuple[float, str | None]], float, int]:
    """``k`` sessions started together: their results, the wall time for all, the emulator's peak RSS."""
    results: list[tuple[float, str | None]] = []
    samples: list[int] = [psutil.Process(pid).memory_info().rss]
    stop = threading.Event()
    sampler = threading.Thread(target=_peak_rss, args=(pid, stop, samples))
    sampler.start()
    threads = [threading.Thread(target=lambda: results.append(_session(url, wav))) for _ in range(k)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    return results, wall, max(samples)


def concurrency(folder: Path, recognizers: tuple[int, ...] = (1, 2), sessions: tuple[int, ...] = (2, 3, 4)) -> None:
    """Wall time per session, throughput and emulator RSS for k sessions at once, per ``--recognizers``."""
    from tests import speech_audio

    wav = speech_audio.three_sentences(folder / "three.wav")
    audio_seconds = speech_audio.duration_seconds(wav)
    for count in recognizers:
        with start_emulator(extra_args=("--recognizers", str(count)), log_path=folder / "emulator.log") as (url, p):
            _session(url, wav)  # warm-up
            idle = psutil.Process(p.pid).memory_info().rss
            for k in sessions:
                results, wall, peak = _parallel(url, wav, k, p.pid)
                times = sorted(r[0] for r in results)
                print(
                    f"recognizers={count} sessions={k}: per session median {statistics.median(times):.1f} s "
                    f"(min {times[0]:.1f}, max {times[-1]:.1f}), all done in {wall:.1f} s, "
                    f"throughput {k * audio_seconds / wall:.1f} s audio/s, RSS idle {idle / 2**20:.0f} MiB "
                    f"peak {peak / 2**20:.0f} MiB, errors {[r[1] for r in results if r[1]]}",
                    flush=True,
                )


def quota(folder: Path, runs: int = 5) -> None:
    """Seconds from ``start_transcribing_async`` to ``canceled`` (TooManyRequests) past a quota of 1."""
    import azure.cognitiveservices.speech as speechsdk

    from tests import speech_audio

    wav = speech_audio.speak("Hello world.", folder / "short.wav")
    with start_emulator(extra_args=("--max-sessions", "1"), log_path=folder / "emulator.log") as (url, _p):
        config = speechsdk.SpeechConfig(endpoint=url)
        config.authorization_token = "bench"
        stream = speechsdk.audio.PushAudioInputStream()
        holder = speechsdk.transcription.ConversationTranscriber(
            config, audio_config=speechsdk.audio.AudioConfig(stream=stream)
        )
        holder.start_transcribing_async().get()
        stream.write(b"\0" * 16000)
        time.sleep(1.0)
        times = []
        for _ in range(runs):
            elapsed, error = _session(url, wav, timeout=60)
            times.append(elapsed)
            print(f"refused session: canceled after {elapsed:.2f} s: {error}", flush=True)
        print(f"429 → canceled: median {statistics.median(times):.2f} s, min {min(times):.2f}, max {max(times):.2f}")
        stream.close()
        holder.stop_transcribing_async().get()


def _timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.monotonic()
    value = call()
    return time.monotonic() - started, value


def multilingual(folder: Path) -> None:
    """What the multilingual model costs: join, load, RSS, seconds per phrase (identified or not)."""
    from tests import speech_audio

    from .models import multilingual_model_path
    from .recognizer import Decoding, WhisperRecognizer

    process = psutil.Process()
    seconds, path = _timed(multilingual_model_path)
    print(f"model folder {path} ready in {seconds:.2f} s")
    before = process.memory_info().rss
    seconds, recognizer = _timed(lambda: WhisperRecognizer(path, cpu_threads=2))
    print(f"load {seconds:.2f} s, RSS +{(process.memory_info().rss - before) / 2**20:.0f} MiB")
    for voice, locale, text in speech_audio.MULTILINGUAL:
        code = locale.split("-")[0]
        wav = speech_audio.speak(text, folder / f"{code}.wav", voice=voice, words_per_minute=140)
        samples = PcmDecoder().decode(wav.read_bytes())
        length = len(samples) / 16000
        fixed, _ = _timed(lambda s=samples, c=code: recognizer.transcribe(s, Decoding(language=c)))
        detect, found = _timed(lambda s=samples: recognizer.transcribe(s, Decoding(candidates=("en", "de", "es"))))
        print(
            f"{code}: {length:.1f} s phrase: {fixed:.2f} s in a known language, {detect:.2f} s with identification "
            f"({found.language} p={found.language_probability:.2f}): {found.text}",
            flush=True,
        )
    after = process.memory_info().rss
    print(f"RSS after decoding {after / 2**20:.0f} MiB (+{(after - before) / 2**20:.0f} MiB)")
    english = WhisperRecognizer(cpu_threads=2)
    samples = PcmDecoder().decode((folder / "en.wav").read_bytes())
    seconds, _ = _timed(lambda: english.transcribe(samples))
    print(f"tiny.en, the English phrase: {seconds:.2f} s")


def phrase_list(folder: Path) -> None:
    """How often the two made-up names come out right, without and with the phrase list."""
    from tests import speech_audio

    from .recognizer import Decoding, WhisperRecognizer, phrase_prompt

    recognizer = WhisperRecognizer()
    counts = {"without": 0, "with": 0}
    for voice, rate in speech_audio.NAME_VARIANTS:
        wav = speech_audio.speak(
            speech_audio.NAMES_SENTENCE, folder / f"names-{voice}-{rate}.wav", voice=voice, words_per_minute=rate
        )
        samples = PcmDecoder().decode(wav.read_bytes())
        for name, decoding in (("without", Decoding()), ("with", Decoding(prompt=phrase_prompt(speech_audio.NAMES)))):
            text = recognizer.transcribe(samples, decoding).text
            counts[name] += sum(n in text for n in speech_audio.NAMES)
            print(f"{voice} {rate} wpm, {name} list: {text}", flush=True)
    total = 2 * len(speech_audio.NAME_VARIANTS)
    print(f"names right: {counts['without']}/{total} without the list, {counts['with']}/{total} with it")


def websocket(folder: Path, upgrades: int = 300, sessions: int = 10) -> None:
    """What the websocket path costs outside recognition: upgrade round trips, then short SDK sessions.

    The upgrade is timed from TCP connect to the open websocket (then closed), so anything in front of
    the websocket server (reading the request head, routing) shows up here and not drowned by Whisper.
    """
    from websockets.sync.client import connect

    from tests import speech_audio

    wav = speech_audio.speak("Hello world.", folder / "short.wav")
    with start_emulator(log_path=folder / "emulator.log") as (url, _p):
        _session(url, wav)  # warm-up
        times = []
        for _ in range(upgrades):
            started = time.perf_counter()
            with connect(f"{url}/stt/speech/universal/v2", subprotocols=["USP"], compression=None):
                times.append(time.perf_counter() - started)
        times.sort()
        print(
            f"{upgrades} upgrades: median {statistics.median(times) * 1000:.2f} ms, "
            f"p90 {times[int(0.9 * len(times))] * 1000:.2f} ms, min {times[0] * 1000:.2f} ms",
            flush=True,
        )
        durations = sorted(_session(url, wav)[0] for _ in range(sessions))
        print(
            f"{sessions} sessions of {speech_audio.duration_seconds(wav):.1f} s audio: median "
            f"{statistics.median(durations):.3f} s, min {durations[0]:.3f} s, max {durations[-1]:.3f} s",
            flush=True,
        )


def main() -> None:
    commands = {
        "concurrency": concurrency,
        "quota": quota,
        "multilingual": multilingual,
        "phrase-list": phrase_list,
        "websocket": websocket,
    }
    parser = argparse.ArgumentParser(prog="python -m speech_emulator.bench", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=sorted(commands))
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        commands[args.what](Path(folder))


if __name__ == "__main__":
    main()
