"""A Speech token fetched for this invocation only (Fix 4B, made fast).

The credential object is created, used once and closed here: no module-level credential, no cache,
no singleton. We pass the token *string* to the Speech SDK and never ``token_credential=``: with a
credential the SDK keeps it inside the recognizer and wires a refresh callback to it
(``speech.py``, ``_set_up_token_refresh_callback``), the long-lived pattern this project replaces.

azure-identity retries a managed-identity endpoint that does not answer for many minutes, so the
fetch is bounded by ``TOKEN_TIMEOUT_SECONDS`` through the transport's timeouts and retry count,
and a miss becomes the transient ``IdentityUnavailableError``.
"""

from __future__ import annotations

import logging
import time

from shared.errors import AuthenticationError, IdentityUnavailableError
from shared.settings import Settings

SPEECH_SCOPE = "https://cognitiveservices.azure.com/.default"

log = logging.getLogger(__name__)


def fetch_token(settings: Settings, scope: str = SPEECH_SCOPE) -> str:
    """Return an access token for ``scope``; the credential is closed before this returns."""
    from azure.core.exceptions import AzureError, ClientAuthenticationError

    started = time.monotonic()
    credential = new_credential(settings)
    try:
        with credential:
            access = credential.get_token(scope)
    except ClientAuthenticationError as exc:
        # azure-identity reports an endpoint it cannot reach and a refusal alike; an unreachable
        # or slow endpoint is worth a retry, a refusal (400/401/403) is not.
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if _looks_unreachable(exc):
            raise IdentityUnavailableError(f"no token from the identity endpoint: {message}") from None
        raise AuthenticationError(f"the identity endpoint refused a token for {scope}: {message}") from None
    except (AzureError, OSError) as exc:  # transport errors: refused connection, read timeout
        raise IdentityUnavailableError(f"no token from the identity endpoint: {type(exc).__name__}: {exc}") from None
    log.debug("token for %s in %.3f s", scope, time.monotonic() - started)
    return access.token


def new_credential(settings: Settings, client_id: str | None = None):
    """A new credential for one invocation, every wait bounded by ``token_timeout_seconds``.

    The caller closes it. ``client_id`` picks a user-assigned identity (default: ``AZURE_CLIENT_ID``).
    """
    timeout = settings.token_timeout_seconds
    transport = {"retry_total": 1, "retry_backoff_factor": 0.2, "connection_timeout": min(5.0, timeout / 2),
                 "read_timeout": timeout / 2}
    if settings.token_credential == "azurecli":
        from azure.identity import AzureCliCredential

        return AzureCliCredential(process_timeout=max(1, int(timeout)))
    from azure.identity import ManagedIdentityCredential

    return ManagedIdentityCredential(client_id=client_id or settings.azure_client_id, **transport)


def _looks_unreachable(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("connect", "timed out", "timeout", "unavailable", "unreachable"))
