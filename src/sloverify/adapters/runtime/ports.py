"""Free TCP ports on 127.0.0.1, so two runs can share a machine.

A port is planned well before the component that listens on it starts (Toxiproxy's proxies,
Kafka's listeners). A port from the kernel's ephemeral range (``bind(0)``) can be taken in
between by any outgoing connection, and the load generators open thousands: Toxiproxy then
fails with "bind: address already in use". So ports are drawn from below the ephemeral range,
where outgoing connections never land, and each is handed out once per process.
"""

from __future__ import annotations

import random
import socket
import threading
from contextlib import closing
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_FLOOR = 20000  # below: the well-known and registered ports daemons are configured with
_KAFKA_CONTROLLER = 9093  # Kafka's default controller port: never handed out
_given: set[int] = set()
_lock = threading.Lock()


def _ephemeral_low(range_file: Path = _RANGE_FILE) -> int:
    """The lowest port the kernel uses for outgoing connections (32768 if it does not say)."""
    try:
        return int(range_file.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(avoid: frozenset[int] = frozenset({_KAFKA_CONTROLLER})) -> int:
    """A port free now, outside the ephemeral range, not handed out before by this process."""
    high = _ephemeral_low() - 1
    rng = random.SystemRandom()  # two runs started together must not draw the same sequence
    with _lock:
        if high - _FLOOR > 1000:
            for _ in range(200):
                port = rng.randint(_FLOOR, high)
                if port not in avoid and port not in _given and _bindable(port):
                    _given.add(port)
                    return port
        # A kernel whose ephemeral range starts low leaves no room below it: ask the kernel.
        while True:
            with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
            if port not in avoid and port not in _given:
                _given.add(port)
                return port


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
