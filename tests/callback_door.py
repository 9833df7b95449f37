"""The app's batch web hook served over real HTTP from the test process: the emulator challenges it and calls it
back as the service would, and each call reaches the route's own function (``api``: routed as the host routes,
the answer checked against ``openapi.yaml``), with this process's app settings. The runtime lane serves the same
route from inside the Functions runtime instead (``functions_host``).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler

from tests.app_functions import api
from tests.rest_client import LoopbackServer

ROUTE = "/api/speech-callbacks"


class CallbackDoor(LoopbackServer):
    """``with CallbackDoor() as door:`` a free loopback port serving ``ROUTE``; ``door.answers`` lists each
    call's ``(event header, status)``."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, int]] = []
        self.arrived = threading.Condition()

    def __enter__(self) -> CallbackDoor:
        door = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                pass

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                response = api("POST", self.path, body, dict(self.headers))
                with door.arrived:
                    door.answers.append((self.headers.get("X-MicrosoftSpeechServices-Event", ""), response.status_code))
                    door.arrived.notify_all()
                data = response.get_body()
                self.send_response(response.status_code)
                self.send_header("Content-Type", response.mimetype or "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._serve(Handler)
        return self

    @property
    def url(self) -> str:
        return f"{self.base}{ROUTE}"

    def wait_for(self, count: int, timeout: float) -> bool:
        """Whether ``count`` completion calls have been answered within ``timeout`` seconds."""

        def completions() -> int:
            return sum(1 for event, _ in self.answers if event == "TranscriptionCompletion")

        with self.arrived:
            return self.arrived.wait_for(lambda: completions() >= count, timeout)
