"""Web hooks for batch transcription: registration with its challenge, then signed ``TranscriptionCompletion`` calls.

As the service does it (sources: the REST specification's ``WebHookProperties.secret`` and ``WebHooks_Update``
descriptions, and Microsoft's receiver sample ``Azure-Samples/cognitive-services-speech-sdk``
``samples/batch/csharp/webhookreceiver/webhookreceiver.cs``):

- **Challenge.** Before a web hook is registered, ``POST webUrl?validationToken=<token>`` with the header
  ``X-MicrosoftSpeechServices-Event: Challenge``; the receiver must answer 200 with the token as its body.
  Any other answer (or none within ``--webhook-timeout``) refuses the registration: 400
  ``InvalidCallbackUri``. (The service challenges after answering and marks the web hook ``Failed``; the
  emulator answers after the challenge, so a broken receiver is noticed at once.)
- **Callbacks.** When a transcription ends (succeeded or failed), ``POST webUrl`` with the JSON body
  ``{"self": "<transcription URL>", "invocationId": "<uuid>"}``, the header
  ``X-MicrosoftSpeechServices-Event: TranscriptionCompletion`` and, when a secret was registered,
  ``X-MicrosoftSpeechServices-Signature``: the Base64 of HMAC-SHA256 over the exact body bytes, keyed by the
  secret's UTF-8 bytes. A callback that fails is retried twice (1 s, then 2 s later), then dropped.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import logging
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode, urlsplit

from .batchresults import timestamp
from .httpio import HttpError, service_error

log = logging.getLogger("speech_emulator.batch")

EVENT_HEADER = "X-MicrosoftSpeechServices-Event"
SIGNATURE_HEADER = "X-MicrosoftSpeechServices-Signature"
RETRY_DELAYS = (1.0, 2.0)


def sign(body: bytes, secret: str) -> str:
    """``X-MicrosoftSpeechServices-Signature``: Base64(HMAC-SHA256(key=secret, message=body))."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


@dataclass
class WebHook:
    id: str
    display_name: str
    web_url: str
    events: dict[str, bool]
    secret: str
    api_version: str
    description: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def json(self, base: str) -> dict[str, Any]:
        """The ``WebHook`` entity; the secret is not echoed."""
        entity: dict[str, Any] = {
            "self": f"{base}/speechtotext/webhooks/{self.id}?api-version={self.api_version}",
            "displayName": self.display_name,
            "webUrl": self.web_url,
            "events": self.events,
            "properties": {"apiVersion": self.api_version},
            "createdDateTime": timestamp(self.created),
            "lastActionDateTime": timestamp(self.created),
            "status": "Succeeded",
        }
        if self.description is not None:
            entity["description"] = self.description
        return entity


class WebHooks:
    """The registered web hooks of this emulator process (in memory, like every batch entity here)."""

    def __init__(self, *, timeout: float = 10.0, ca_bundle: str | None = None) -> None:
        self.timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        self._hooks: dict[str, WebHook] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, hook_id: str) -> WebHook | None:
        return self._hooks.get(hook_id)

    def all(self) -> list[WebHook]:
        return list(self._hooks.values())

    def delete(self, hook_id: str) -> None:
        self._hooks.pop(hook_id, None)

    async def register(self, body: Any, api_version: str) -> WebHook:
        """Check the registration, challenge its URL, keep it; HttpError 400 for either failing."""
        hook = _parse(body, api_version)
        token = uuid.uuid4().hex
        url = f"{hook.web_url}{'&' if urlsplit(hook.web_url).query else '?'}{urlencode({'validationToken': token})}"
        status, answer = await asyncio.to_thread(self._post, url, b"", {EVENT_HEADER: "Challenge"})
        if status != HTTPStatus.OK or _echoed(answer) != token:
            log.info("webhook challenge to %s failed: %s", hook.web_url, status)
            raise service_error(
                HTTPStatus.BAD_REQUEST,
                "InvalidRequest",
                f"The web hook did not answer the challenge (HTTP {status}): expected 200 with the validationToken.",
                "InvalidCallbackUri",
            )
        self._hooks[hook.id] = hook
        log.info("webhook %s registered for %s", hook.id, hook.web_url)
        return hook

    def notify(self, event: str, self_url: str) -> None:
        """Call every web hook subscribed to ``event`` (``transcriptionCompletion``) in the background."""
        for hook in self._hooks.values():
            if hook.events.get(event):
                task = asyncio.get_running_loop().create_task(self._deliver(hook, event, self_url))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _deliver(self, hook: WebHook, event: str, self_url: str) -> None:
        body = json.dumps({"self": self_url, "invocationId": str(uuid.uuid4())}).encode("utf-8")
        headers = {EVENT_HEADER: event[:1].upper() + event[1:], "Content-Type": "application/json"}
        if hook.secret:
            headers[SIGNATURE_HEADER] = sign(body, hook.secret)
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
            await asyncio.sleep(delay)
            status, _ = await asyncio.to_thread(self._post, hook.web_url, body, headers)
            log.info("webhook %s %s attempt %d: %s", hook.id, headers[EVENT_HEADER], attempt + 1, status)
            if 200 <= status < 300:
                return

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """(status, body) of one POST; status 0 when nothing answered.

        http.client rather than urllib: urllib rewrites header names (``X-microsoftspeechservices-event``),
        and the service's spelling is part of what a receiver is tested against.
        """
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if parts.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.netloc, timeout=self.timeout, context=self._context
            )
        else:
            connection = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
        try:
            connection.request("POST", target, body=body, headers={"Content-Length": str(len(body)), **headers})
            response = connection.getresponse()
            return response.status, response.read(64 * 1024)
        except (OSError, http.client.HTTPException):
            return 0, b""
        finally:
            connection.close()


def _echoed(answer: bytes) -> str:
    """The token a challenge answer carries: the plain body, or a JSON string (ASP.NET's ``Ok(token)``)."""
    text = answer.decode("utf-8", "replace").strip()
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, str) else text


def _parse(body: Any, api_version: str) -> WebHook:
    def bad(message: str, inner: str = "InvalidPayload") -> HttpError:
        return service_error(HTTPStatus.BAD_REQUEST, "InvalidRequest", message, inner)

    if not isinstance(body, dict):
        raise bad("The web hook must be a JSON object.")
    name, url = body.get("displayName"), body.get("webUrl")
    if not isinstance(name, str) or not name:
        raise bad("displayName is required.")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise bad("webUrl must be an absolute http(s) URL.", "InvalidCallbackUri")
    events = body.get("events")
    if not isinstance(events, dict) or not any(v is True for v in events.values()):
        raise bad("events must switch on at least one event.", "InvalidWebHookEventKind")
    secret = (body.get("properties") or {}).get("secret") or ""
    if not isinstance(secret, str):
        raise bad("properties.secret must be a string.")
    return WebHook(str(uuid.uuid4()), name, url, events, secret, api_version, body.get("description"))
