"""What the batch tests share: the emulator's batch API as the operator sees it (a token of the stack's own
minting, never the app's), a recording dropped for batch, the records beside it, and signed callbacks."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace

from shared.api.callbacks import sign
from shared.batch.records import INDEX_PREFIX, record_name
from speech_emulator.auth import AUDIENCE
from tests.rest_client import call, call_json, http_url

SUBMIT_LOG = "rest /speechtotext/transcriptions:submit 201"


def emulator(stack) -> SimpleNamespace:
    """The stack's emulator: its REST base and an operator's token for it."""
    token = stack.operator_credential().get_token(f"{AUDIENCE}/.default").token
    return SimpleNamespace(base=http_url(stack.speech_endpoint), token=token)


def plan_fault(stack, fault: str, count: int | None = 1) -> None:
    """The emulator's next ``count`` batch submissions get ``fault`` (``None``: every one; 0 clears)."""
    body = {"api": "batch", "fault": fault, **({"count": count} if count is not None else {})}
    assert call_json("POST", f"{emulator(stack).base}/emulator/faults", body).status == 200


def on_service(stack, transcription: str) -> dict | None:
    """The transcription as the emulator has it, or ``None`` when it has none."""
    found = emulator(stack)
    answer = call("GET", f"{found.base}/speechtotext/transcriptions/{transcription}?api-version=2025-10-15",
                  token=found.token)  # fmt: skip
    return None if answer.status == 404 else answer.json()


def submissions(stack) -> int:
    """How many batch submissions the emulator has accepted (its log, one line each)."""
    return (stack.workdir / "speech-emulator.log").read_text(errors="replace").count(SUBMIT_LOG)


def drop(service, data: bytes, container: str = "audio-in", **metadata: str) -> str:
    """``data`` as a new recording asking for batch (and ``metadata``); its name."""
    name = f"batch/{uuid.uuid4().hex[:12]}.wav"  # not an index entry's name: those are batch-waiting/<uuid>.json
    service.get_container_client(container).upload_blob(name, data, metadata={"engine": "batch", **metadata})
    return name


def record(service, name: str, container: str = "transcripts") -> dict | None:
    blob = service.get_container_client(container).get_blob_client(record_name(name))
    return json.loads(blob.download_blob().readall()) if blob.exists() else None


def index(service, container: str = "transcripts") -> list[str]:
    """The index's entries: one per transcription waiting."""
    return [b.name for b in service.get_container_client(container).list_blobs(name_starts_with=INDEX_PREFIX)]


def wait_until(check: Callable[[], object], timeout: float, what: str) -> object:
    """``check()``'s first true answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.2)
    return found


def completion(stack, transcription: str, secret: str | None = None, *, self_url: str | None = None):
    """A ``TranscriptionCompletion`` as the service sends it: ``(body, headers)``, signed with ``secret``
    (default: the app's own)."""
    url = self_url or f"{emulator(stack).base}/speechtotext/transcriptions/{transcription}?api-version=2025-10-15"
    body = json.dumps({"self": url, "invocationId": str(uuid.uuid4())}).encode()
    key = secret or stack.env["SPEECH_WEBHOOK_SECRET"]
    headers = {
        "Content-Type": "application/json",
        "X-MicrosoftSpeechServices-Event": "TranscriptionCompletion",
        "X-MicrosoftSpeechServices-Signature": sign(body, key),
    }
    return body, headers
