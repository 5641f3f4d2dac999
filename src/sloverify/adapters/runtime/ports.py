"""Free TCP ports on 127.0.0.1, so two runs can share a machine."""

from __future__ import annotations

import socket
from contextlib import closing


def free_port(avoid: frozenset[int] = frozenset({9093})) -> int:
    """A port the kernel says is free now (9093 is kept for nobody: Kafka's default controller)."""
    while True:
        with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in avoid:
            return port


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
