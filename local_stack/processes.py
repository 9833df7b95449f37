"""Start helper processes on free loopback ports, wait until they answer, and always end them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from speech_emulator.process import free_port

__all__ = ["ManagedProcess", "free_port", "port_open"]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


class ManagedProcess:
    """A child process in its own process group, ended (group and all) by ``stop()``."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.popen: subprocess.Popen | None = None
        self._log = None

    def start(self, ready: Callable[[], bool], timeout: float = 60.0) -> ManagedProcess:
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.popen = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not ready():
            if self.popen.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode} before it was ready"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"{self.name} was not ready within {timeout:.0f} s")
            time.sleep(0.05)
        return self

    def stop(self, grace: float = 5.0) -> None:
        popen = self.popen
        if popen is not None and popen.poll() is None:
            try:
                os.killpg(popen.pid, signal.SIGTERM)
                popen.wait(grace)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(grace)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        self._log = None
