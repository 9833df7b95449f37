"""A TCP forwarder in front of a real local service, that a test can break the way networks break.

``FaultyProxy(("127.0.0.1", port))`` listens on a free loopback port and forwards every connection to
the target, byte for byte (TLS passes through untouched: the stack's certificate names 127.0.0.1).
A test points an app setting at ``proxy.port`` and then, mid-test:

- ``refuse()``: stop listening, so new connections are refused; ``restore()`` listens again;
- ``blackhole()``: accept new connections and never answer (a silent service);
- ``cut()``: reset every live connection now (an outage in the middle of a transfer);
- ``restore()``: back to forwarding.

With ``capture=True`` it also keeps every byte the clients sent (``sent``), so a test can read what went over
the wire, exactly.

Runs on threads inside the test process: no extra process to start or leak.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from local_stack.processes import free_port

_PASS, _REFUSE, _BLACKHOLE = "pass", "refuse", "blackhole"


class FaultyProxy:
    """Forwards ``127.0.0.1:port`` to ``target`` until told to fail; a context manager."""

    def __init__(self, target: tuple[str, int], *, capture: bool = False) -> None:
        self.target = target
        self.sent: bytearray | None = bytearray() if capture else None
        self.port = free_port()
        self.mode = _PASS
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopped = False

    # -- lifecycle --------------------------------------------------------------------------------
    def __enter__(self) -> FaultyProxy:
        self._listen()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped = True
        self._close_listener()
        self.cut()

    # -- faults -----------------------------------------------------------------------------------
    def refuse(self) -> None:
        """New connections are refused (nothing listens); live ones go on."""
        self.mode = _REFUSE
        self._close_listener()

    def blackhole(self) -> None:
        """New connections are accepted and never answered."""
        self.mode = _BLACKHOLE
        self._listen()

    def cut(self) -> None:
        """Reset every live connection now.

        On Linux ``close()`` does not wake a thread blocked in ``recv`` on the same socket (the socket
        stays open under it, so no RST is sent either); ``shutdown(SHUT_RD)`` does, and unlike
        ``SHUT_WR`` it sends no FIN, so the peer still sees a reset, not a clean end.
        """
        with self._lock:
            live, self._live = self._live, set()
        for sock in live:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
                sock.shutdown(socket.SHUT_RD)
            with contextlib.suppress(OSError):
                sock.close()

    def restore(self) -> None:
        """Forward again."""
        self.mode = _PASS
        self._listen()

    # -- the forwarding ------------------------------------------------------------------------------
    def _listen(self) -> None:
        if self._listener is not None or self._stopped:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="proxy-accept", daemon=True).start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed: refused, or stopped
            self._track(client)
            if self.mode == _BLACKHOLE:
                threading.Thread(target=self._swallow, args=(client,), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                self._drop(client)
                continue
            upstream.settimeout(None)  # the 5 s were for connecting: an idle connection is not a dead one
            self._track(upstream)
            for source, sink, tap in ((client, upstream, self.sent), (upstream, client, None)):
                threading.Thread(target=self._pump, args=(source, sink, tap), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.add(sock)

    def _drop(self, sock: socket.socket) -> None:
        """Close ``sock``, waking the thread reading it (``shutdown``: see ``cut``); the peer sees a FIN.

        A socket ``cut`` already took is only closed: it must end with the RST ``cut`` set up.
        """
        with self._lock:
            ours = sock in self._live
            self._live.discard(sock)
        if ours:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def _swallow(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while sock.recv(65536):
                pass
        self._drop(sock)

    def _pump(self, source: socket.socket, sink: socket.socket, tap: bytearray | None) -> None:
        try:
            while data := source.recv(65536):
                if tap is not None:
                    with self._lock:
                        tap.extend(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(source)
            self._drop(sink)
