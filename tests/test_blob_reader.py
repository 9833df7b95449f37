"""The seekable blob reader: against Azurite for the real ranged downloads, against an in-memory blob
for every sequence of seeks and reads hypothesis can think of."""

from __future__ import annotations

import io
import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.audio import decode_all
from shared.errors import StorageError
from shared.platform.blob_reader import BlobReader


@pytest.fixture
def blob(service):
    name = f"reader/{uuid.uuid4().hex}.bin"
    client = service.get_container_client("audio-in").get_blob_client(name)
    data = os.urandom(10_000)
    client.upload_blob(data)
    return client, data


def reader_for(client, window: int) -> BlobReader:
    props = client.get_blob_properties()
    return BlobReader(client, etag=props.etag, size=props.size, window=window)


def test_reads_the_whole_blob_in_windows_never_more_than_asked(blob):
    client, data = blob
    reader = reader_for(client, window=4096)
    parts = []
    while part := reader.read(1000):
        assert len(part) <= 1000
        parts.append(part)
    assert b"".join(parts) == data
    assert reader.requests == 3
    assert reader.bytes_fetched == len(data)


def test_seeks_from_start_current_and_end_and_keeps_the_last_two_windows(blob):
    client, data = blob
    reader = reader_for(client, window=4096)
    assert reader.seekable()
    assert reader.read(10) == data[:10]
    assert reader.seek(-100, io.SEEK_END) == 9_900
    assert reader.read(1000) == data[9_900:]
    assert reader.seek(5, io.SEEK_SET) == 5
    assert reader.read(20) == data[5:25]
    assert reader.seek(4_000, io.SEEK_CUR) == 4_025
    assert reader.read(200) == data[4_025:4_225]
    # head, tail, head again, then the middle window: the head is fetched once, the middle once
    assert reader.requests == 3
    assert reader.bytes_fetched == len(data)
    assert reader.read(0) == b""
    assert reader.seek(20_000) == 20_000
    assert reader.read(10) == b""


def test_a_blob_replaced_while_it_is_read_is_an_error_not_a_mixed_file(blob):
    client, _ = blob
    reader = reader_for(client, window=4096)
    reader.read(100)
    client.upload_blob(os.urandom(10_000), overwrite=True)
    reader.read(4096 - 100)  # the rest of the first window is already here
    with pytest.raises(StorageError, match="replaced"):
        reader.read(100)


def test_a_moov_at_end_m4a_is_decoded_from_the_blob_fetching_each_byte_about_once(service, format_files):
    """FFmpeg reads the head, jumps to the index at the end, comes back: the cached windows absorb that."""
    data = format_files["m4a-moov-at-end"].read_bytes()
    assert data.find(b"moov") > len(data) * 0.9  # the fixture really has its index at the end
    client = service.get_container_client("audio-in").get_blob_client(f"reader/{uuid.uuid4().hex}.m4a")
    client.upload_blob(data)
    window = 16 * 1024
    reader = reader_for(client, window=window)
    decoded = decode_all(reader)
    assert decoded.seconds > 12
    assert decoded.found.container == "m4a"
    assert reader.bytes_fetched <= 1.05 * len(data), (reader.bytes_fetched, len(data), reader.requests)
    assert reader.requests >= len(data) // window  # really read in ranges, not in one go


class MemoryBlob:
    """Stands in for a ``BlobClient``: ``download_blob(offset, length)`` over bytes, counting calls."""

    blob_name = "memory.bin"

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls: list[tuple[int, int]] = []

    def download_blob(self, *, offset, length, **_conditions):
        self.calls.append((offset, length))
        chunk = self.data[offset : offset + length]
        return type("Downloader", (), {"readall": lambda _self: chunk})()


operations = st.lists(
    st.one_of(
        st.tuples(st.just("read"), st.integers(min_value=0, max_value=3000)),
        st.tuples(st.just("seek"), st.integers(min_value=-2000, max_value=6000), st.sampled_from([0, 1, 2])),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=5000), ops=operations, window=st.integers(min_value=1, max_value=2048))
def test_any_sequence_of_seeks_and_reads_matches_a_file_in_memory(data, ops, window):
    blob = MemoryBlob(data)
    reader = BlobReader(blob, etag="*", size=len(data), window=window)
    model = io.BytesIO(data)
    for op in ops:
        if op[0] == "read":
            got = reader.read(op[1])
            assert got == model.read(op[1])
            assert len(got) <= op[1]
        else:
            _, offset, whence = op
            target = [offset, model.tell() + offset, len(data) + offset][whence]
            if target < 0:
                with pytest.raises(OSError):
                    reader.seek(offset, whence)
            else:
                assert reader.seek(offset, whence) == model.seek(offset, whence)
        assert reader.tell() == model.tell()
    assert all(length <= window for _, length in blob.calls)
    assert reader.bytes_fetched == sum(min(length, len(data) - offset) for offset, length in blob.calls)
