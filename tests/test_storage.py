"""The ranged blob reader against Azurite: bounded reads, few requests, and no spliced files."""

from __future__ import annotations

import os
import uuid

import pytest

from shared.errors import StorageError
from shared.storage import BlobRangeReader


@pytest.fixture
def blob(service):
    name = f"reader/{uuid.uuid4().hex}.bin"
    client = service.get_container_client("audio-in").get_blob_client(name)
    data = os.urandom(10_000)
    client.upload_blob(data)
    return client, data


def reader_for(client, window: int) -> BlobRangeReader:
    props = client.get_blob_properties()
    return BlobRangeReader(client, etag=props.etag, size=props.size, window=window)


def test_reads_the_whole_blob_in_windows_never_more_than_asked(blob):
    client, data = blob
    reader = reader_for(client, window=4096)
    parts = []
    while part := reader.read(1000):
        assert len(part) <= 1000
        parts.append(part)
    assert b"".join(parts) == data
    assert reader.requests == 3 and reader.bytes_fetched == len(data)


def test_a_blob_replaced_while_it_is_read_is_an_error_not_a_mixed_file(blob):
    client, _ = blob
    reader = reader_for(client, window=4096)
    reader.read(100)
    client.upload_blob(os.urandom(10_000), overwrite=True)
    reader.read(4096 - 100)  # the rest of the first window is already here
    with pytest.raises(StorageError, match="replaced"):
        reader.read(100)
