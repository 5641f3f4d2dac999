"""Planned ports stay out of the kernel's ephemeral range and are never handed out twice."""

from __future__ import annotations

import socket
from contextlib import closing
from pathlib import Path

import pytest

from sloverify.adapters.runtime import ports
from sloverify.adapters.runtime.ports import _ephemeral_low, free_port


def test_ports_are_below_the_ephemeral_range_distinct_and_bindable() -> None:
    low = _ephemeral_low()
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert all(p < low for p in ports)  # outgoing connections cannot take them meanwhile
    for p in ports[:20]:
        with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
            s.bind(("127.0.0.1", p))


def test_a_port_that_cannot_be_bound_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ports, "_bindable", lambda port: port % 2 == 1)  # even ones "in use"
    assert all(free_port() % 2 == 1 for _ in range(100))


def test_the_ephemeral_floor_is_read_from_the_kernel_file(tmp_path: Path) -> None:
    f = tmp_path / "range"
    f.write_text("40000\t60999\n", encoding="ascii")
    assert _ephemeral_low(f) == 40000
    f.write_text("garbage", encoding="ascii")
    assert _ephemeral_low(f) == 32768
    assert _ephemeral_low(tmp_path / "missing") == 32768
