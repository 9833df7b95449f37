"""``python -m shared.backfill``: the operator's catch-up run, through the blob function's own handler."""

from __future__ import annotations

import json
import uuid

import pytest

from shared import backfill

pytestmark = pytest.mark.usefixtures("stack")


def test_backfill_transcribes_only_what_has_no_transcript(service, three_sentences_wav, capsys):
    prefix = f"backfill-{uuid.uuid4().hex[:8]}/"
    inputs = service.get_container_client("audio-in")
    outputs = service.get_container_client("transcripts")
    inputs.upload_blob(f"{prefix}new.wav", three_sentences_wav.read_bytes())
    inputs.upload_blob(f"{prefix}done.wav", three_sentences_wav.read_bytes())
    outputs.upload_blob(f"{prefix}done.wav.json", json.dumps({"text": "already there"}))
    inputs.upload_blob(f"{prefix}broken.wav", b"not audio")

    assert backfill.main(["--prefix", prefix, "--dry-run"]) == 0
    listed = capsys.readouterr().out
    assert f"{prefix}new.wav" in listed
    assert f"{prefix}broken.wav" in listed
    assert f"{prefix}done.wav\n" not in listed

    assert backfill.main(["--prefix", prefix]) == 1  # one blob failed permanently
    out = capsys.readouterr().out
    assert "2 blob(s)" in out
    assert "new.wav: transcribed" in out
    assert "broken.wav: failed: unsupported_audio" in out
    assert "quarterly report" in json.loads(outputs.download_blob(f"{prefix}new.wav.json").readall())["text"].lower()
    assert json.loads(outputs.download_blob(f"{prefix}done.wav.json").readall()) == {"text": "already there"}

    assert backfill.main(["--prefix", prefix, "--dry-run"]) == 0
    assert f"{prefix}new.wav" not in capsys.readouterr().out


def test_backfill_names_a_missing_setting(monkeypatch, capsys):
    monkeypatch.delenv("SPEECH_ENDPOINT")
    assert backfill.main([]) == 2
    assert "SPEECH_ENDPOINT" in capsys.readouterr().err
