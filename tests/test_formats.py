"""Every format users record, end to end: the real blob path and ``python -m shared.transcribe``.

Each fixture is the same espeak-ng speech (``THREE_SENTENCES``) encoded once per session in one format
(``tests/audio_formats.py``); both doors must recognise it with WER <= 25 % against the reference words,
through Azurite, the identity endpoint and the real Speech SDK talking to the emulator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.platform.credentials import SPEECH_SCOPE
from tests import audio_formats, speech_audio
from tests.app_functions import invoke_blob
from tests.blob_io import results, upload, word_error_rate

REPO = Path(__file__).resolve().parent.parent
SPEECH = SPEECH_SCOPE.removesuffix("/.default")  # the resource the identity endpoint counts


def transcribe_command(*args: str) -> subprocess.CompletedProcess:
    """``python -m shared.transcribe ...`` in a fresh process with this process's (the stack's) settings."""
    return subprocess.run(
        [sys.executable, "-m", "shared.transcribe", *args], capture_output=True, text=True, timeout=180, cwd=REPO
    )


def check_audio_info(audio: dict, fmt: audio_formats.Format, seconds: float) -> None:
    container, codec = fmt.expect
    assert (audio["container"], audio["codec"], audio["format"]) == (container, codec, f"{container}/{codec}")
    assert audio["sample_rate"] == fmt.rate
    assert audio["channels"] == (2 if fmt.layout == "stereo" else 1)
    assert audio["decoded_duration_seconds"] == pytest.approx(seconds, abs=0.1)
    assert audio["duration_seconds"] == audio["decoded_duration_seconds"]
    assert audio["channel_mode"] == "mix"
    declared = audio["declared_duration_seconds"]
    assert declared is None or declared == pytest.approx(seconds, abs=0.1)


@pytest.mark.parametrize("fmt", audio_formats.FORMATS, ids=lambda f: f.name)
def test_every_format_through_the_blob_path(stack, service, format_files, format_sources, fmt):
    data = format_files[fmt.name].read_bytes()
    name = upload(service, data, fmt.suffix, folder="formats")

    invoke_blob("audio-in", name)

    found = results(service, name)
    assert ".error.json" not in found, found.get(".error.json")
    doc = json.loads(found[".json"])
    assert word_error_rate(doc["text"]) <= fmt.wer_bound, doc["text"]
    check_audio_info(doc["audio"], fmt, speech_audio.duration_seconds(format_sources[fmt.name]))
    assert doc["warnings"] == []
    assert doc["source"]["size"] == len(data)
    assert service.get_container_client("audio-in").get_blob_client(name).download_blob().readall() == data


@pytest.mark.parametrize("fmt", audio_formats.FORMATS, ids=lambda f: f.name)
def test_every_format_through_the_transcribe_command(stack, format_files, format_sources, fmt):
    run = transcribe_command(str(format_files[fmt.name]), "--endpoint", stack.speech_endpoint, "--quiet")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert word_error_rate(doc["text"]) <= fmt.wer_bound, doc["text"]
    check_audio_info(doc["audio"], fmt, speech_audio.duration_seconds(format_sources[fmt.name]))
    assert doc["source"]["name"] == format_files[fmt.name].name


def test_a_moov_at_end_m4a_is_fetched_about_once_in_range_requests(stack, service, format_files, monkeypatch):
    """Phones write the index last; FFmpeg jumps to it and back. Counted at the SDK call, not trusted."""
    from azure.storage.blob import BlobClient

    from shared.platform import blob_reader

    data = format_files["m4a-moov-at-end"].read_bytes()
    assert data.find(b"moov") > 0.9 * len(data)
    name = upload(service, data, ".m4a", folder="formats")
    window = 16 * 1024  # the default is 1 MiB; the fixture is ~110 KB, so shrink it to make windows matter
    monkeypatch.setattr(blob_reader, "WINDOW_BYTES", window)
    ranges: list[tuple[int, int]] = []
    download = BlobClient.download_blob

    def counting_download(self, *args, **kwargs):
        if self.blob_name == name:
            ranges.append((kwargs.get("offset"), kwargs.get("length")))
        return download(self, *args, **kwargs)

    monkeypatch.setattr(BlobClient, "download_blob", counting_download)

    invoke_blob("audio-in", name)

    doc = json.loads(results(service, name)[".json"])
    assert word_error_rate(doc["text"]) <= 0.25, doc["text"]
    assert all(offset is not None and 0 < length <= window for offset, length in ranges), ranges
    fetched = sum(length for _, length in ranges)
    assert len(ranges) >= len(data) // window
    assert fetched <= 1.05 * len(data), (fetched, len(data), ranges)


def assert_each_line_on_its_channel(segments: list[dict], timeline: list[tuple[str, float, float]]) -> None:
    """Every dialogue line is recognised, and every segment is labelled with its voice's channel."""
    channel_of = {speech_audio.VOICE_A: "Channel-1", speech_audio.VOICE_B: "Channel-2"}
    heard = set()
    for segment in segments:
        middle = (segment["start"] + segment["end"]) / 2
        line = next(i for i, (_, start, end) in enumerate(timeline) if start - 0.3 <= middle <= end + 0.3)
        assert segment["speaker"] == channel_of[timeline[line][0]], (segment, timeline[line])
        heard.add(line)
    assert heard == set(range(len(timeline))), (segments, timeline)


def test_separate_channels_from_the_command_give_one_speaker_per_channel(stack, call_recording):
    path, timeline = call_recording
    run = transcribe_command(str(path), "--endpoint", stack.speech_endpoint, "--channels", "separate", "--quiet")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert sorted(doc["speakers"]) == ["Channel-1", "Channel-2"]
    assert doc["audio"]["channel_mode"] == "separate"
    assert doc["audio"]["channels"] == 2
    assert_each_line_on_its_channel(doc["segments"], timeline)
    starts = [s["start"] for s in doc["segments"]]
    assert starts == sorted(starts)  # the channels' segments are merged by time
    reference = " ".join(text for _, text in speech_audio.DIALOGUE)
    assert word_error_rate(doc["text"], reference) <= 0.25, doc["text"]


def test_separate_channels_through_the_blob_path(stack, service, call_recording, monkeypatch):
    path, timeline = call_recording
    name = upload(service, path.read_bytes(), ".wav", folder="formats")
    monkeypatch.setenv("CHANNEL_MODE", "separate")
    before = stack.token_requests()

    invoke_blob("audio-in", name)

    doc = json.loads(results(service, name)[".json"])
    assert sorted(doc["speakers"]) == ["Channel-1", "Channel-2"]
    assert doc["audio"]["channel_mode"] == "separate"
    assert_each_line_on_its_channel(doc["segments"], timeline)
    assert stack.token_requests().get(SPEECH, 0) - before.get(SPEECH, 0) == 1  # two sessions, one token
    assert "Channel-1:" in results(service, name)[".txt"]


def test_the_command_prints_text_and_fails_in_one_line_on_bad_input(stack, format_files, tmp_path):
    run = transcribe_command(
        str(format_files["ogg-opus"]), "--endpoint", stack.speech_endpoint, "--format", "txt", "--quiet"
    )
    assert run.returncode == 0
    assert run.stdout.startswith("[00:00:0")
    assert "quarterly report" in run.stdout.lower()

    not_audio = tmp_path / "notes.mp3"  # the name says mp3; the content decides
    not_audio.write_text("shopping list: eggs, milk\n")
    run = transcribe_command(str(not_audio), "--endpoint", stack.speech_endpoint)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.strip() == "error: unsupported_audio: not a recording this service can decode: found text"

    run = transcribe_command(str(tmp_path / "missing.wav"), "--endpoint", stack.speech_endpoint)
    assert run.returncode == 1
    assert run.stderr.startswith("error: cannot read")
    assert len(run.stderr.splitlines()) == 1
