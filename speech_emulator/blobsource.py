"""Reading batch audio by its plain blob URL with the emulator's own managed-identity token, as the service does.

In Azure, batch transcription reads ``contentUrls`` as a trusted service: the Speech resource's
system-assigned identity holds *Storage Blob Data Reader*, so the URL needs no SAS. Locally the emulator
plays that identity: it mints its own Storage token (audience ``https://storage.azure.com``) with the
stack's signing secret, as ``local_stack.identity.LocalTokenCredential`` does (not through the app's
identity endpoint, whose per-resource counts belong to the app), and trusts the stack's TLS certificate
(``--batch-ca-bundle``, default ``$REQUESTS_CA_BUNDLE``).

What the identity may read is what it was granted: ``--batch-readable URL_PREFIX`` (repeatable), e.g. the
input container's URL. A URL outside every grant is never fetched: it fails as the service's read
would fail without the role, "Authentication failed for recordings URI".
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .auth import SECRET_ENV

log = logging.getLogger("speech_emulator.batch")

#: "1 GB" per batch file (the Speech quotas page).
MAX_FILE_BYTES = 1024**3
#: The service's message for a recording it may not read (Azure-Samples/cognitive-services-speech-sdk issue #518,
#: MicrosoftDocs/azure-docs issue #58957).
AUTH_FAILED = "Authentication failed for recordings URI."


class BlobReadError(Exception):
    """A recording that could not be read: ``code`` and ``message`` as the transcription's error shows them."""

    def __init__(self, code: str, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class BlobSource:
    """The identity batch transcriptions read with, and what it was granted."""

    readable: tuple[str, ...] = ()
    secret: str | None = None
    ca_bundle: str | None = None

    @classmethod
    def from_environment(cls, readable: tuple[str, ...], ca_bundle: str | None) -> BlobSource:
        return cls(readable, os.environ.get(SECRET_ENV), ca_bundle or os.environ.get("REQUESTS_CA_BUNDLE"))

    def granted(self, url: str) -> bool:
        """Whether ``url`` lies under a grant: the prefix itself, or below it at a path boundary."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or ".." in unquote(parts.path).split("/"):
            return False
        plain = url.split("?", 1)[0]
        for prefix in self.readable:
            prefix = prefix.split("?", 1)[0]
            if plain == prefix.rstrip("/") or plain.startswith(prefix if prefix.endswith("/") else prefix + "/"):
                return True
        return False

    async def fetch(self, url: str, target: Path) -> None:
        """Download ``url`` into ``target`` with the emulator's token; BlobReadError says why not."""
        if not self.granted(url):
            log.info("refused %s: outside --batch-readable", url.split("?", 1)[0])
            raise BlobReadError("InaccessibleCustomerStorage", AUTH_FAILED)
        if self.secret is None:
            raise BlobReadError("InaccessibleCustomerStorage", f"{AUTH_FAILED} (the emulator has no ${SECRET_ENV})")
        await asyncio.to_thread(self._download, url, target)

    def _download(self, url: str, target: Path) -> None:
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
        from azure.core.exceptions import ServiceRequestError as Unreachable
        from azure.storage.blob import BlobClient

        from local_stack.identity import LocalTokenCredential  # the stack's own minting, lazily: a dev tool here

        verify: str | bool = self.ca_bundle or True
        client = BlobClient.from_blob_url(
            url, credential=LocalTokenCredential(self.secret or ""), connection_verify=verify, retry_total=1
        )
        try:
            with client, open(target, "wb") as out:
                stream = client.download_blob(max_concurrency=1)
                if stream.size > MAX_FILE_BYTES:
                    raise BlobReadError("InvalidData", "The recording is larger than 1 GB.")
                stream.readinto(out)
        except ClientAuthenticationError as exc:
            raise BlobReadError("InaccessibleCustomerStorage", AUTH_FAILED) from exc
        except ResourceNotFoundError as exc:
            raise BlobReadError("InvalidRecordingsUri", "The recordings URI is invalid.") from exc
        except (HttpResponseError, Unreachable) as exc:
            status = getattr(exc, "status_code", None)
            if status in (401, 403):
                raise BlobReadError("InaccessibleCustomerStorage", AUTH_FAILED) from exc
            raise BlobReadError("InternalServerError", "The recording could not be read.", transient=True) from exc
