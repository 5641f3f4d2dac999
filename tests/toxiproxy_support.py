"""Real Toxiproxy for tests: the server on a free port, a TCP echo upstream, and process helpers."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from sloverify._exceptions import ToolNotFound
from sloverify.adapters.runtime.ports import free_port
from sloverify.adapters.tools import Tool, Tools
from sloverify.adapters.toxiproxy import ToxiproxyClient

INSTALL = "run ci/bootstrap (it builds Toxiproxy 2.12), or set SLOVERIFY_TOOL_TOXIPROXY"


@dataclass(frozen=True)
class RunningToxiproxy:
    """A Toxiproxy server started for one test."""

    url: str
    pid: int

    def client(self, timeout: float = 5.0) -> ToxiproxyClient:
        return ToxiproxyClient(self.url, timeout=timeout)


def toxiproxy_binary() -> Path:
    """The server binary; fails the test (never skips) with how to install it."""
    try:
        return Tools.load().get(Tool.TOXIPROXY)
    except ToolNotFound as exc:
        pytest.fail(f"the Toxiproxy server is missing: {INSTALL} ({exc})")


@contextlib.contextmanager
def run_toxiproxy(log_dir: Path) -> Iterator[RunningToxiproxy]:
    """Start the real server on a free 127.0.0.1 port; kill it at the end, whatever happens."""
    binary = toxiproxy_binary()
    port = free_port()
    with (log_dir / f"toxiproxy-{port}.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(binary), "-host", "127.0.0.1", "-port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(url), 10.0, f"toxiproxy on {url} did not answer /version")
        yield RunningToxiproxy(url, proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/version", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, message: str) -> float:
    """Poll ``condition`` every 20 ms; the seconds it took, or fail with ``message``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{message} (waited {timeout:.0f}s)")
        time.sleep(0.02)
    return time.monotonic() - start


class TcpServer:
    """A threaded TCP server on a free port: it echoes, or (``silent``) accepts and says nothing."""

    def __init__(self, silent: bool = False) -> None:
        self.silent = silent
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            if not self.silent:
                threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)

    def close(self) -> None:
        self._closed.set()
        self._sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()

    def __enter__(self) -> TcpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def round_trip(listen: str, payload: bytes = b"ping", timeout: float = 5.0) -> float:
    """Seconds to send ``payload`` through a fresh connection and read it back."""
    host, port = listen.rsplit(":", 1)
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed after {received!r}")
            received += chunk
    assert received == payload
    return time.monotonic() - start


def gone(pid: int) -> bool:
    """Whether the process has exited (a zombie nobody reaped yet counts as exited)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def kill_if_alive(pid: int, started: float | None = None) -> None:
    """SIGKILL a process we started, unless it is gone or its pid was reused."""
    with contextlib.suppress(psutil.Error, ProcessLookupError):
        proc = psutil.Process(pid)
        if started is None or abs(proc.create_time() - started) < 0.5:
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGKILL)
