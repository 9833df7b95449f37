"""Hostile input: whatever bytes arrive, the decoder ends in time with the typed error or with audio.

Hypothesis makes up the input: random bytes, real recordings cut at random offsets, one format's header
on another format's body, damage in the middle, a source that fails part-way. Every case must end
within a deadline (run on a worker thread, so a hang fails the test instead of stalling the suite) in
``UnsupportedAudioError`` / ``AudioTooLargeError`` (bad input), ``StorageError`` (the source failed), or
decoded audio with warnings; a crash (FFmpeg aborting the process) would end the whole run. Most cases
go to the decoder directly; a few go through the real blob path, which must also leave the input blob
exactly as it was.
"""

from __future__ import annotations

import io
import json
import threading
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.audio import decode_all
from shared.errors import AudioTooLargeError, StorageError, UnsupportedAudioError
from tests.app_functions import invoke_blob
from tests.audio_formats import FORMATS

#: Far above the few milliseconds a case takes; only a hang gets near it.
DEADLINE_SECONDS = 30
#: Bounds what a made-up header may claim, so a "10 hours of audio" header ends quickly too.
MAX_SECONDS = 60
NAMES = [f.name for f in FORMATS]
MODES = ["mix", "separate"]
FIXTURES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def outcome(stream, channel_mode: str = "mix") -> object:
    """What decoding ``stream`` ends in: the ``Decoded`` result or the exception, within the deadline."""
    result: list[object] = []

    def work() -> None:
        try:
            result.append(decode_all(stream, channel_mode=channel_mode, max_seconds=MAX_SECONDS))
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            result.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(DEADLINE_SECONDS)
    assert not worker.is_alive(), f"decoding did not end within {DEADLINE_SECONDS} s"
    return result[0]


def assert_typed_or_audio(result: object) -> None:
    if isinstance(result, BaseException):
        assert isinstance(result, (UnsupportedAudioError, AudioTooLargeError)), repr(result)
        assert result.message
        assert not result.transient
    else:
        assert 0 <= result.seconds <= MAX_SECONDS
        assert isinstance(result.warnings, list)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=20_000))
def test_random_bytes(data):
    assert_typed_or_audio(outcome(io.BytesIO(data)))


@FIXTURES
@given(name=st.sampled_from(NAMES), fraction=st.floats(min_value=0, max_value=1), mode=st.sampled_from(MODES))
def test_a_recording_cut_at_a_random_offset(format_files, name, fraction, mode):
    data = format_files[name].read_bytes()
    assert_typed_or_audio(outcome(io.BytesIO(data[: int(len(data) * fraction)]), mode))


@FIXTURES
@given(
    head=st.sampled_from(NAMES),
    body=st.sampled_from(NAMES),
    header_bytes=st.integers(4, 5000),
    mode=st.sampled_from(MODES),
)
def test_one_formats_header_on_another_formats_body(format_files, head, body, header_bytes, mode):
    a, b = format_files[head].read_bytes(), format_files[body].read_bytes()
    assert_typed_or_audio(outcome(io.BytesIO(a[:header_bytes] + b[header_bytes:]), mode))


@FIXTURES
@given(name=st.sampled_from(NAMES), start=st.floats(0, 1), length=st.integers(1, 20_000), seed=st.binary(min_size=1))
def test_garbage_written_over_part_of_a_recording(format_files, name, start, length, seed):
    data = bytearray(format_files[name].read_bytes())
    at = int(len(data) * start)
    data[at : at + length] = (seed * (length // len(seed) + 1))[:length]
    assert_typed_or_audio(outcome(io.BytesIO(bytes(data))))


class FailingSource(io.BytesIO):
    """Serves the recording, then fails every read past ``after`` bytes (a dropped connection)."""

    def __init__(self, data: bytes, after: int, error: BaseException) -> None:
        super().__init__(data)
        self.after, self.error, self.failed = after, error, False

    def read(self, size=-1):
        if self.tell() + (size if size >= 0 else len(self.getbuffer())) > self.after:
            self.failed = True
            raise self.error
        return super().read(size)


@FIXTURES
@given(
    name=st.sampled_from(NAMES),
    fraction=st.floats(0, 0.95),
    error=st.sampled_from(
        [
            StorageError("the blob went away"),
            ConnectionResetError("reset"),
            TimeoutError(),
            ValueError("I/O operation on closed file"),
        ]
    ),
)
def test_a_source_that_fails_part_way(format_files, name, fraction, error):
    data = format_files[name].read_bytes()
    source = FailingSource(data, int(len(data) * fraction), error)
    result = outcome(source)
    if source.failed:
        # A failed read is the source's failure (transient, retried), never "unsupported audio".
        assert isinstance(result, StorageError), repr(result)
        assert result.transient
    else:
        assert_typed_or_audio(result)


def hostile_blobs(format_files) -> st.SearchStrategy[bytes]:
    recordings = st.sampled_from(NAMES).map(lambda name: format_files[name].read_bytes())
    return st.one_of(
        st.binary(max_size=5000),
        st.tuples(recordings, st.floats(0, 1)).map(lambda t: t[0][: int(len(t[0]) * t[1])]),
        st.tuples(recordings, recordings, st.integers(4, 3000)).map(lambda t: t[0][: t[2]] + t[1][t[2] :]),
    )


def test_hostile_blobs_end_in_an_error_document_or_a_transcript_and_the_audio_stays(stack, service, format_files):
    """A few through the real blob path: the outcome is recorded, nothing is retried, the input is untouched."""
    inputs = service.get_container_client("audio-in")
    outputs = service.get_container_client("transcripts")

    # The same 5 each run (the decoder tests above stay random): each example here is a real invocation,
    # and one random draw took 106 s of a fresh-clone run where these 5 usually take ~3 s.
    @settings(max_examples=5, deadline=None, database=None, derandomize=True)
    @given(data=hostile_blobs(format_files))
    def run(data: bytes) -> None:
        name = f"hostile/{uuid.uuid4().hex[:12]}.bin"
        inputs.upload_blob(name, data)
        done: list[object] = []
        worker = threading.Thread(
            target=lambda: done.append(invoke_blob("audio-in", name)),
            daemon=True,
        )
        worker.start()
        worker.join(120)
        assert not worker.is_alive()
        assert done == [None]
        error = outputs.get_blob_client(name + ".error.json")
        if error.exists():
            body = json.loads(error.download_blob().readall())
            assert body["code"] in ("unsupported_audio", "audio_too_large")
            assert body["transient"] is False
            assert not outputs.get_blob_client(name + ".json").exists()
        else:
            doc = json.loads(outputs.get_blob_client(name + ".json").download_blob().readall())
            assert doc["schema"] == "stt-transcript/1"
            assert isinstance(doc["warnings"], list)
        assert inputs.get_blob_client(name).download_blob().readall() == data

    run()


def test_a_truncated_recording_through_the_blob_path_is_a_transcript_with_a_warning(stack, service, format_files):
    data = format_files["mp3"].read_bytes()
    data = data[: len(data) // 2]
    name = f"hostile/{uuid.uuid4().hex[:12]}.mp3"
    service.get_container_client("audio-in").upload_blob(name, data)
    invoke_blob("audio-in", name)
    out = service.get_container_client("transcripts")
    doc = json.loads(out.get_blob_client(name + ".json").download_blob().readall())
    assert doc["warnings"][0].startswith("the file ends early or is damaged: it declares 12.8 s")
    assert doc["audio"]["declared_duration_seconds"] > doc["audio"]["decoded_duration_seconds"] + 2
    assert service.get_container_client("audio-in").get_blob_client(name).download_blob().readall() == data
