"""``POST /api/speech-callbacks``: the Speech service's web hook for batch transcription.

Anonymous on purpose: its key is the HMAC, which never travels; a function key would sit in the web hook's
URL, which the service keeps and shows to anyone who may list web hooks.

- A ``Challenge`` (the registration's) is answered 200 with its ``validationToken`` echoed; none: refused.
- Anything else is checked first: ``X-MicrosoftSpeechServices-Signature`` must be the Base64 HMAC-SHA256 of the
  exact body keyed by ``SPEECH_WEBHOOK_SECRET``, or it is refused (401) before a byte of it is read.
- A ``TranscriptionCompletion`` names its transcription by URL; only the id is taken (this app builds the URL
  from ``SPEECH_ENDPOINT``) and the transcription is finished (``shared.batch.finish``): 200 done or running,
  202 another worker is on it, 404 not one this app is waiting for. Each refusal changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import azure.functions as func

from shared.api.responses import json_response, route, text_response
from shared.errors import (
    ConfigurationError,
    InvalidRequestError,
    SignatureError,
    UnknownTranscriptionError,
)
from shared.settings import SPEECH_WEBHOOK_SECRET, Settings

EVENT_HEADER = "X-MicrosoftSpeechServices-Event"
SIGNATURE_HEADER = "X-MicrosoftSpeechServices-Signature"
CHALLENGE, COMPLETION = "challenge", "transcriptioncompletion"
#: A notification is a URL and an id; anything longer is not one.
MAX_BODY_BYTES = 64 * 1024
#: What a validation token may be when echoed: the service's are GUIDs; nothing that could be markup.
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{1,200}")


@route
def speech_callback(req: func.HttpRequest, settings: Settings) -> func.HttpResponse:
    """One call of the web hook: a challenge answered, or a signed completion finished."""
    event = req.headers.get(EVENT_HEADER, "").strip().lower()
    if event == CHALLENGE:
        return _challenge(req)
    body = req.get_body() or b""
    _verify(body, req.headers.get(SIGNATURE_HEADER), settings.webhook_secret)
    if event != COMPLETION:
        return json_response({"status": "ignored", "event": event[:60]})
    transcription = _named(body)
    from shared.batch.finish import BUSY, UNANSWERED, finish

    done = finish(settings, transcription, via="callback")
    if done is None:
        raise UnknownTranscriptionError(f"batch transcription {transcription} is not one this app is waiting for")
    if done.status == UNANSWERED and done.error is not None:
        raise done.error  # a 5xx: the service calls again, and the sweep polls it besides
    return json_response({"transcription": transcription, "status": done.status}, 202 if done.status == BUSY else 200)


def sign(body: bytes, secret: str) -> str:
    """``X-MicrosoftSpeechServices-Signature``: Base64 of HMAC-SHA256 over ``body``, keyed by ``secret``."""
    return base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def _challenge(req: func.HttpRequest) -> func.HttpResponse:
    token = req.params.get("validationToken", "")
    if not _TOKEN.fullmatch(token):
        raise InvalidRequestError("a challenge needs its validationToken (letters, digits and ._~-)")
    return text_response(token, "text/plain")


def _verify(body: bytes, signature: str | None, secret: str | None) -> None:
    """Refuse a body not signed with the secret; compared in constant time."""
    if secret is None:
        raise ConfigurationError(f"app setting {SPEECH_WEBHOOK_SECRET} is missing: no callback can be trusted")
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequestError(f"a callback is at most {MAX_BODY_BYTES} bytes")
    if not signature:
        raise SignatureError(f"the callback has no {SIGNATURE_HEADER}")
    if not hmac.compare_digest(sign(body, secret).encode("ascii"), signature.strip().encode("utf-8", "replace")):
        raise SignatureError(f"{SIGNATURE_HEADER} is not this body's signature")


def _named(body: bytes) -> str:
    """The id of the transcription a signed notification names (``self``), never the URL itself."""
    from shared.batch.request import id_from_self

    try:
        notification = json.loads(body)
    except ValueError:
        raise InvalidRequestError("the callback's body is not JSON") from None
    found = id_from_self(notification.get("self")) if isinstance(notification, dict) else None
    if found is None:
        raise InvalidRequestError("the callback names no transcription (self)")
    return found
