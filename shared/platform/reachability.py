"""Can ``SPEECH_ENDPOINT`` be connected to at all? Connect only: no request, no token, bounded.

Two callers ask. ``GET /api/health`` reports it, so a wrong port, scheme or host name shows before any
recording fails. And ``shared.pipeline``, when the Speech SDK could not open a session: an endpoint that
accepts connections turned the session away (past its quota, a reset under load), which is worth the start
retries of ``SPEECH_START_RETRY_SECONDS``; one that accepts none is unreachable, and after a short bounded
retry (``shared.platform.retry_policy.UNREACHABLE_RETRY_SECONDS``) the recording's record says so and names the
setting, instead of every delivery waiting out the whole budget without a word.

A connection here is a TCP connection to the endpoint's host and port, with the TLS handshake for
``https``/``wss`` (the SDK's ``wss`` for an ``https`` endpoint): what the SDK does before its websocket
upgrade. It runs on a helper thread so that a name lookup, which ``socket`` does not time out, is bounded
too.
"""

from __future__ import annotations

import socket
import ssl
import threading
from urllib.parse import urlsplit

#: How long one look may take, the name lookup included.
PROBE_SECONDS = 3.0
_SECURE = ("https", "wss")


def unreachable(endpoint: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Why ``endpoint`` takes no connection within ``timeout`` (a phrase: "the connection was refused"), or
    ``None`` when it takes one."""
    parts = urlsplit(endpoint)
    secure = parts.scheme in _SECURE
    try:
        port = parts.port or (443 if secure else 80)
    except ValueError:
        return "its port is not a number"
    found: list[str | None] = []
    worker = threading.Thread(target=lambda: found.append(_connect(parts.hostname or "", port, secure, timeout)),
                              name="speech-probe", daemon=True)
    worker.start()
    worker.join(timeout)
    return found[0] if found else f"no connection within {timeout:g} s"


def _connect(host: str, port: int, secure: bool, timeout: float) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            if secure:
                with ssl.create_default_context().wrap_socket(connection, server_hostname=host):
                    pass
    except socket.gaierror:
        return "its host name does not resolve"
    except ssl.SSLError as exc:
        return f"no TLS handshake ({exc.reason or type(exc).__name__}): is the scheme right?"
    except ConnectionRefusedError:
        return "the connection was refused: is the port right?"
    except TimeoutError:
        return f"no connection within {timeout:g} s"
    except OSError as exc:
        return f"no connection ({exc.strerror or type(exc).__name__})"
    return None
