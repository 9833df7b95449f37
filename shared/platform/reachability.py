"""Can ``SPEECH_ENDPOINT`` be connected to at all? TCP, and TLS for https/wss, only: no request, no token.

Health reports it, and ``shared.pipeline`` asks when a session would not open, so an endpoint that takes no
connection is named after a short retry instead of every delivery waiting out the start-retry budget.
The look runs on a helper thread, since ``socket`` does not time out a name lookup.
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
    """Why ``endpoint`` takes no connection within ``timeout`` ("the connection was refused"), or ``None``."""
    parts = urlsplit(endpoint)
    secure = parts.scheme in _SECURE
    try:
        port = parts.port or (443 if secure else 80)
    except ValueError:
        return "its port is not a number"
    found: list[str | None] = []
    worker = threading.Thread(
        target=lambda: found.append(_connect(parts.hostname or "", port, secure, timeout)),
        name="speech-probe",
        daemon=True,
    )
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
