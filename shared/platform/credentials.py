"""Credentials made per invocation, and the Speech token fetched with one: a token per invocation, no
credential kept.

Every credential object (for the Speech token here, for storage in ``shared.platform.storage``) is made by
``new_credential``, used and closed within one invocation: no module-level credential, no cache, no
singleton. We pass the token *string* to the Speech SDK and never ``token_credential=``: with a
credential the SDK keeps it inside the recognizer and wires a refresh callback to it
(``speech.py``, ``_set_up_token_refresh_callback``), the long-lived pattern this project replaces.

Every token fetch ends within ``TOKEN_TIMEOUT_SECONDS``, retries and their waits included
(``shared.platform.deadlines``: a ``Retry-After`` past the deadline is not waited for), and a failure is
classified by what happened on the wire, on the fetch's last attempt: an identity endpoint that
answered 5xx, 429, 408, or 404/410 (IMDS while it is updating; azure-identity retries those too),
refused the connection, timed out or trickled is ``identity_unavailable`` (transient: the host tries
again), and so is one that answered 200 with no usable token (not JSON, no ``access_token``: a proxy's
page, an answer cut short), which refused nothing; one that answered 400, 401 or 403 refused this
identity (``authentication_failed``, permanent: a role or configuration problem that a retry does not
fix). The reason the endpoint gave goes into the error's ``details`` (logs, ``.error.json``), not its
message.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from shared.errors import AuthenticationError, IdentityUnavailableError, TranscriptionError
from shared.platform.deadlines import (
    DeadlineExceeded,
    DeadlineTransport,
    RetryPastDeadline,
    WatchedAdapter,
    watched_session,
)
from shared.settings import Settings

SPEECH_SCOPE = "https://cognitiveservices.azure.com/.default"
#: Answers of an identity endpoint below 500 that a later try may not get: a timeout, throttling, and
#: IMDS's 404 and 410 while it is being updated (azure-identity's IMDS policy retries them).
_TRANSIENT_STATUS = frozenset({404, 408, 410, 429})

log = logging.getLogger(__name__)


def fetch_token(settings: Settings, scope: str = SPEECH_SCOPE) -> str:
    """Return an access token for ``scope``; the credential is closed before this returns.

    ``TOKEN_CREDENTIAL=none`` (a Speech container, the emulator: hosts that take no token): ``""``,
    and no credential is made.
    """
    if settings.token_credential == "none":
        return ""
    started = time.monotonic()
    with new_credential(settings) as credential:
        access = credential.get_token(scope)
    log.debug("token for %s in %.3f s", scope, time.monotonic() - started)
    return access.token


class BoundedCredential:
    """A credential for one invocation: each ``get_token`` ends within ``timeout`` or raises a typed error.

    What storage clients and ``fetch_token`` are given. The wrapped azure-identity credential talks
    through one ``WatchedAdapter``, re-armed for every fetch.
    """

    def __init__(self, inner: Any, adapter: WatchedAdapter | None, timeout: float) -> None:
        self._inner, self._adapter, self._timeout = inner, adapter, timeout

    @property
    def inner(self) -> Any:
        """The azure-identity credential that does the fetching."""
        return self._inner

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        if self._adapter is not None:
            self._adapter.arm(self._timeout)
        started = time.monotonic()
        try:
            return self._inner.get_token(*scopes, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure is classified, none escapes untyped
            raise self._classified(exc, scopes, time.monotonic() - started) from None

    def _classified(self, exc: Exception, scopes: tuple[str, ...], seconds: float) -> TranscriptionError:
        """The typed error for a failed fetch, from what its last attempt met (``WatchedAdapter``)."""
        scope = _audience(scopes[0]) if scopes else "?"
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if self._adapter is None:  # the Azure CLI: no HTTP of ours to look at
            if type(exc).__name__ in ("ClientAuthenticationError", "CredentialUnavailableError"):
                return AuthenticationError(f"the Azure CLI gave no token for {scope}", details=reason)
            return IdentityUnavailableError(f"no token from the Azure CLI within {seconds:.1f} s", details=reason)
        status, failure = self._adapter.last_status, self._adapter.last_failure
        if failure is None and status is not None and 400 <= status < 500 and status not in _TRANSIENT_STATUS:
            return AuthenticationError(f"the identity endpoint refused a token for {scope} (HTTP {status})",
                                       details=reason)
        if failure is None and status is not None:
            what = f"answered HTTP {status}" + (" with no usable token" if status < 400 else "")
            if isinstance(exc, RetryPastDeadline):
                what += f", asking for a wait past TOKEN_TIMEOUT_SECONDS={self._timeout:g}"
        elif isinstance(failure, DeadlineExceeded) or seconds >= self._timeout:
            what = f"did not answer within TOKEN_TIMEOUT_SECONDS={self._timeout:g}"
        else:
            what = f"could not be reached ({type(failure).__name__ if failure else type(exc).__name__})"
        return IdentityUnavailableError(f"no token for {scope}: the identity endpoint {what}", details=reason)

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> BoundedCredential:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def new_credential(settings: Settings, client_id: str | None = None) -> BoundedCredential:
    """A new credential for one invocation, every fetch bounded by ``token_timeout_seconds``.

    The caller closes it. ``client_id`` picks a user-assigned identity (default: ``AZURE_CLIENT_ID``).
    """
    timeout = settings.token_timeout_seconds
    if settings.token_credential == "azurecli":
        from azure.identity import AzureCliCredential

        return BoundedCredential(AzureCliCredential(process_timeout=max(1, int(timeout))), None, timeout)
    from azure.identity import ManagedIdentityCredential

    session, adapter = watched_session()
    inner = ManagedIdentityCredential(client_id=client_id or settings.azure_client_id,
                                      transport=DeadlineTransport(session, adapter),
                                      retry_total=1, retry_backoff_factor=0.2)
    return BoundedCredential(inner, adapter, timeout)


def _audience(scope: str) -> str:
    """The service a scope is for, as a message names it: ``cognitiveservices.azure.com``, not a URL."""
    return urlsplit(scope).hostname or scope
