"""Several blob invocations at once in one worker process, as the Python worker runs sync functions.

Each invocation has its own token, storage clients, decoder, Speech session and event collector; a
handler connected to the wrong session, a decoder shared between threads or a collection racing another
invocation's objects would show as a transcript of the wrong recording. 8 at once, 3 rounds.
"""

from __future__ import annotations

import json
import threading
import uuid

from tests.app_functions import invoke_blob
from tests.blob_io import results, word_error_rate

AT_ONCE, ROUNDS = 8, 3


def test_eight_invocations_at_once_each_transcribe_their_own_recording(stack, service, short_sentences):
    for round_number in range(ROUNDS):
        chosen = short_sentences[round_number * AT_ONCE : (round_number + 1) * AT_ONCE]
        names = invoke_at_once(service, [audio for _, audio in chosen])
        for name, (text, _) in zip(names, chosen, strict=True):
            transcript = json.loads(results(service, name)[".json"])["text"]
            assert word_error_rate(transcript, text) <= 0.25, (round_number, name, text, transcript)


def invoke_at_once(service, recordings: list[bytes]) -> list[str]:
    """Upload ``recordings`` and run the blob function for all of them at the same moment; their names."""
    inputs = service.get_container_client("audio-in")
    folder = f"concurrent-{uuid.uuid4().hex[:8]}"
    names = [f"{folder}/{i}.wav" for i in range(len(recordings))]
    for name, audio in zip(names, recordings, strict=True):
        inputs.upload_blob(name, audio)
    start, failures = threading.Barrier(len(names)), []

    def invoke(name: str) -> None:
        start.wait()  # all at once, not one after another
        try:
            invoke_blob("audio-in", name)
        except Exception as exc:  # noqa: BLE001 - reported below with the others
            failures.append(f"{name}: {exc!r}")

    threads = [threading.Thread(target=invoke, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    return names
