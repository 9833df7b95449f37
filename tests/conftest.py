"""Session fixtures: the local stack as real processes, and synthetic speech made once per run."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import speech_audio

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the local stack is marked ``stack``; ``make test-unit`` runs the rest."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def stack():
    """Azurite + speech emulator (``--require-token``; its batch may read both input containers) + identity
    endpoint; app settings applied."""
    from local_stack.stack import ready_stack

    with ready_stack(readable_containers=("audio-in", RUNTIME_CONTAINERS["INPUT_CONTAINER"])) as running:
        yield running


#: The containers the runtime lane's app watches and writes: its own, so the direct-call tests' uploads to
#: ``audio-in`` never start an invocation behind their back.
RUNTIME_CONTAINERS = {"INPUT_CONTAINER": "runtime-in", "OUTPUT_CONTAINER": "runtime-out"}


@pytest.fixture(scope="session")
def functions_host(stack):
    """The app inside Microsoft's Functions runtime (a worker process), behind the host stand-in on a free
    port: HTTP, Event Grid blob events into ``runtime-in``; the timer is run through the admin endpoint; its batch
    web hook registered on the emulator, as ``local_stack`` registers it."""
    from local_stack.functions_host import FunctionsHost
    from local_stack.processes import free_port

    with stack.blob_service() as service:
        for name in RUNTIME_CONTAINERS.values():
            if not service.get_container_client(name).exists():
                service.create_container(name)
    log_path = stack.workdir / "functions-worker.log"
    with (
        FunctionsHost(
            stack, http_port=free_port(), settings=RUNTIME_CONTAINERS, log_path=log_path, timers=False
        ) as host,
        stack.webhook(host.url("/api/speech-callbacks")),
    ):
        yield host


@pytest.fixture
def own_containers(stack, service, monkeypatch):
    """An input and an output container of this test's own: a whole sweep or status report sees only what the
    test made."""
    suffix = uuid.uuid4().hex[:8]
    names = (f"own-in-{suffix}", f"own-out-{suffix}")
    for name in names:
        service.create_container(name)
    monkeypatch.setenv("INPUT_CONTAINER", names[0])
    monkeypatch.setenv("OUTPUT_CONTAINER", names[1])
    return names


@pytest.fixture
def completions(stack, monkeypatch):
    """A completion queue of this test's own; returns a function giving the messages on it."""
    from azure.storage.queue import TextBase64DecodePolicy

    name = f"done-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("COMPLETION_QUEUE", name)
    queues = stack.queue_service()
    queues.create_queue(name)
    client = queues.get_queue_client(name, message_decode_policy=TextBase64DecodePolicy())

    def messages() -> list[dict]:
        return [json.loads(m.content) for m in client.peek_messages(max_messages=32)]

    yield messages
    queues.close()


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="session")
def three_sentences_wav(audio_dir) -> Path:
    return speech_audio.three_sentences(audio_dir / "three-sentences.wav")


@pytest.fixture(scope="session")
def dialogue_wav(audio_dir) -> Path:
    return speech_audio.dialogue(audio_dir / "dialogue.wav")


@pytest.fixture(scope="session")
def service(stack):
    """A BlobServiceClient for the test's own uploads and checks (not the app's client)."""
    with stack.blob_service() as client:
        yield client


def host_blob_client(container: str, name: str):
    """The ``BlobClient`` exactly as the Functions worker builds it for ``transcribe_blob``.

    The host sends model binding data (connection name, container, blob); the blob extension's own
    converter turns it into an azure-storage-blob ``BlobClient`` using the connection's app settings.
    """
    from azurefunctions.extensions.base import Datum
    from azurefunctions.extensions.bindings.blob import BlobClient
    from azurefunctions.extensions.bindings.blob.blobClientConverter import BlobClientConverter

    from shared.settings import STORAGE_CONNECTION

    model_binding_data = SimpleNamespace(
        version="1.0",
        source="AzureStorageBlobs",
        content_type="application/json",
        content=json.dumps({"Connection": STORAGE_CONNECTION, "ContainerName": container, "BlobName": name}),
    )
    return BlobClientConverter.decode(
        Datum(value=model_binding_data, type="model_binding_data"), trigger_metadata={}, pytype=BlobClient
    )


@pytest.fixture(scope="session")
def format_sources(audio_dir, three_sentences_wav) -> dict[str, Path]:
    """The speech WAV each format's fixture is encoded from, by format name (``THREE_SENTENCES`` in all;
    8 kHz formats from telephone-friendly speech, see ``tests.audio_formats``)."""
    from tests import audio_formats

    voice, words_per_minute = audio_formats.NARROWBAND_SPEECH
    narrowband = speech_audio.three_sentences(
        audio_dir / "three-sentences-narrowband.wav", voice=voice, words_per_minute=words_per_minute
    )
    return {f.name: narrowband if f.narrowband else three_sentences_wav for f in audio_formats.FORMATS}


@pytest.fixture(scope="session")
def format_files(audio_dir, format_sources) -> dict[str, Path]:
    """``THREE_SENTENCES`` encoded once in every format of ``tests.audio_formats.FORMATS``, by name."""
    from tests import audio_formats

    folder = audio_dir / "formats"
    folder.mkdir(exist_ok=True)
    return {
        f.name: audio_formats.encode(format_sources[f.name], f, folder / f"three-sentences-{f.name}{f.suffix}")
        for f in audio_formats.FORMATS
    }


@pytest.fixture(scope="session")
def call_recording(audio_dir) -> tuple[Path, list[tuple[str, float, float]]]:
    """A stereo call: VOICE_A's lines of the dialogue on the left channel, VOICE_B's on the right; with
    the dialogue's timeline ``(voice, start_s, end_s)``."""
    from tests import audio_formats

    mono, timeline = speech_audio.dialogue_with_timeline(audio_dir / "call-mono.wav")
    stereo = audio_formats.call_recording(mono, timeline, speech_audio.VOICE_A, audio_dir / "call-stereo.wav")
    return stereo, timeline


@pytest.fixture(scope="session")
def short_sentences(audio_dir) -> list[tuple[str, bytes]]:
    """``speech_audio.SHORT_SENTENCES``, each spoken: ``(text, WAV bytes)``."""
    folder = audio_dir / "short"
    folder.mkdir(exist_ok=True)
    return [
        (text, speech_audio.speak(text, folder / f"{i:02d}.wav").read_bytes())
        for i, text in enumerate(speech_audio.SHORT_SENTENCES)
    ]
