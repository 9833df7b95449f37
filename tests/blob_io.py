"""Helpers the blob-path tests share: put audio into the input container, read what came out."""

from __future__ import annotations

import uuid

import jiwer

from tests import speech_audio

#: The words of ``speech_audio.three_sentences``, the clip most tests transcribe.
REFERENCE = " ".join(speech_audio.THREE_SENTENCES)


def upload(service, data: bytes, suffix: str = ".wav", *, folder: str = "test") -> str:
    """Upload ``data`` under a fresh name in the input container; returns the blob name."""
    name = f"{folder}/{uuid.uuid4().hex[:12]}{suffix}"
    service.get_container_client("audio-in").upload_blob(name, data)
    return name


def results(service, name: str) -> dict[str, str]:
    """What the blob path wrote for ``name``: ``{".json": ..., ".txt": ..., ".error.json": ...}`` as present."""
    out = service.get_container_client("transcripts")
    found = {}
    for suffix in (".json", ".txt", ".error.json"):
        blob = out.get_blob_client(name + suffix)
        if blob.exists():
            found[suffix] = blob.download_blob().readall().decode()
    return found


def normalise(text: str) -> str:
    return jiwer.RemovePunctuation()(text.lower()).strip()


def word_error_rate(text: str, reference: str = REFERENCE) -> float:
    return jiwer.wer(normalise(reference), normalise(text))
