"""Credentials made per invocation, and the Speech token fetched with one: a token per invocation, no
credential kept.

The Speech SDK gets the token as a string, never ``token_credential=``: given a credential it keeps it in the
recognizer and wires a refresh callback to it (``_set_up_token_refresh_callback``), the long-lived pattern
this project replaces. Each fetch ends within ``TOKEN_TIMEOUT_SECONDS`` (``shared.platform.deadlines``) and
fails typed, by what its last attempt met on the wire (the README's fault table).
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from azure.identity import AzureCliCredential, ManagedIdentityCredential

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
#: Answers below 500 a later try may not get: a timeout, throttling, and IMDS's 404 and 410 while it is
#: being updated (azure-identity retries those too).
_TRANSIENT_STATUS = frozenset({404, 408, 410, 429})

log = logging.getLogger(__name__)


def fetch_token(settings: Settings, scope: str = SPEECH_SCOPE) -> str:
    """An access token for ``scope``, its credential closed; ``""`` with ``TOKEN_CREDENTIAL=none``."""
    if settings.token_credential == "none":
        return ""
    started = time.monotonic()
    with new_credential(settings) as credential:
        access = credential.get_token(scope)
    log.debug("token for %s in %.3f s", scope, time.monotonic() - started)
    return access.token


class BoundedCredential:
    """A credential for one invocation: each ``get_token`` ends within ``timeout`` or raises a typed error."""

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
            return AuthenticationError(
                f"the identity endpoint refused a token for {scope} (HTTP {status})", details=reason
            )
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
    """A new credential for one invocation, for the caller to close; ``client_id`` picks a user-assigned
    identity (default: ``AZURE_CLIENT_ID``)."""
    timeout = settings.token_timeout_seconds
    if settings.token_credential == "azurecli":
        return BoundedCredential(AzureCliCredential(process_timeout=max(1, int(timeout))), None, timeout)
    session, adapter = watched_session()
    inner = ManagedIdentityCredential(
        client_id=client_id or settings.azure_client_id,
        transport=DeadlineTransport(session, adapter),
        retry_total=1,
        retry_backoff_factor=0.2,
    )
    return BoundedCredential(inner, adapter, timeout)


def _audience(scope: str) -> str:
    """The service a scope is for, as a message names it: ``cognitiveservices.azure.com``, not a URL."""
    return urlsplit(scope).hostname or scope
