"""The dead-man switch, accepted on the real Toxiproxy: a dead or frozen controller's faults go.

A controller process (tests/watchdog_controller.py) starts the watchdog and applies a latency
toxic through the ledger; the test then kills, freezes or cleanly stops it and polls the real
Toxiproxy API. Every process started here is killed in a ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil
import pytest

from sloverify.adapters.faults import FaultInjector, FaultLedger
from sloverify.adapters.toxiproxy import LatencyAttributes, Toxic, ToxiproxyClient
from sloverify.adapters.watchdog import log_path, start_watchdog
from tests.toxiproxy_support import (
    RunningToxiproxy,
    TcpServer,
    gone,
    kill_if_alive,
    run_toxiproxy,
    wait_until,
)

CONTROLLER = Path(__file__).resolve().parent / "watchdog_controller.py"
DEADLINE = 10.0  # seconds from the controller's death to the toxic's removal


@dataclass
class Stack:
    """A real Toxiproxy with one proxy, ``db``, in front of an echo server."""

    toxiproxy: RunningToxiproxy
    client: ToxiproxyClient
    ledger: Path

    def toxic_names(self) -> list[str]:
        return [t.name for t in self.client.toxics("db")]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with run_toxiproxy(tmp_path) as server, TcpServer() as echo, server.client() as client:
        client.create_proxy("db", "127.0.0.1:0", echo.address)
        yield Stack(server, client, tmp_path / "run" / "faults.jsonl")


@dataclass
class Controller:
    """A running controller process and the watchdog it started."""

    proc: subprocess.Popen[str]
    lines: queue.Queue[str]
    watchdog_pid: int = 0

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"controller printed nothing for {timeout}s; expected {prefix!r}")
        assert line.startswith(prefix), line
        return line


@contextlib.contextmanager
def controller(stack: Stack, mode: str) -> Iterator[Controller]:
    """Start the controller in its own process group; kill it and its watchdog at the end."""
    stderr = stack.ledger.with_name("controller.err")
    stderr.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(CONTROLLER), "--toxiproxy", stack.toxiproxy.url]
    command += ["--proxy", "db", "--ledger", str(stack.ledger), "--mode", mode]
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True
        )
    lines: queue.Queue[str] = queue.Queue()

    def read(out: IO[str]) -> None:  # a thread, so the test can wait for a line with a timeout
        for line in out:
            lines.put(line)

    threading.Thread(target=read, args=(proc.stdout,), daemon=True).start()
    ctl = Controller(proc, lines)
    watchdog_started: float | None = None
    try:
        ctl.watchdog_pid = int(ctl.expect("watchdog ").split()[1])
        watchdog_started = psutil.Process(ctl.watchdog_pid).create_time()
        yield ctl
    except BaseException:
        print(f"controller stderr:\n{stderr.read_text()}")
        if stack.ledger.exists():
            print(f"watchdog log:\n{log_path(stack.ledger).read_text()}")
        raise
    finally:
        kill_if_alive(proc.pid)
        proc.wait(timeout=10)
        if ctl.watchdog_pid:
            kill_if_alive(ctl.watchdog_pid, watchdog_started)


def _watched_toxic_removed(stack: Stack, ctl: Controller, end: str) -> float:
    ctl.expect("applied")
    assert stack.toxic_names() == ["watched"]
    start = time.monotonic()
    if end == "SIGKILL":  # the whole group, as a kill of the controller's job would
        os.killpg(ctl.proc.pid, signal.SIGKILL)
    else:
        os.kill(ctl.proc.pid, signal.SIGSTOP)
    wait_until(lambda: not stack.toxic_names(), DEADLINE, f"toxic still there after {end}")
    removed = time.monotonic() - start
    wait_until(lambda: gone(ctl.watchdog_pid), DEADLINE - removed, "the watchdog did not exit")
    assert FaultLedger(stack.ledger).active() == ()
    print(f"{end} -> toxic removed in {removed:.3f}s")
    return removed


def test_sigkilled_controller_faults_are_rolled_back(stack: Stack) -> None:
    with controller(stack, "sleep") as ctl:
        removed = _watched_toxic_removed(stack, ctl, "SIGKILL")
    assert removed < DEADLINE
    assert "controller gone (eof)" in log_path(stack.ledger).read_text()


def test_frozen_controller_faults_are_rolled_back(stack: Stack) -> None:
    with controller(stack, "sleep") as ctl:
        removed = _watched_toxic_removed(stack, ctl, "SIGSTOP")
        assert ctl.proc.poll() is None  # still there, frozen: the watchdog acted on silence
    assert removed >= 1.5  # the 3 s silence less at most a heartbeat interval, not an EOF
    assert "controller gone (silence)" in log_path(stack.ledger).read_text()


def test_clean_stop_leaves_state_alone(stack: Stack) -> None:
    unrelated = Toxic(name="unrelated", attributes=LatencyAttributes(latency=5))
    stack.client.add_toxic("db", unrelated)  # not in the ledger: not the watchdog's business
    with controller(stack, "clean") as ctl:
        ctl.expect("applied")
        assert ctl.expect("stopped").split() == ["stopped", "0"]
        assert ctl.proc.wait(timeout=10) == 0
        wait_until(lambda: gone(ctl.watchdog_pid), 5.0, "the watchdog did not exit")
    assert stack.toxic_names() == ["unrelated"]
    log = log_path(stack.ledger).read_text()
    assert "stop requested: exiting without rollback" in log and "rolling back" not in log


def test_heartbeats_keep_it_quiet_and_stop_removes_leftovers(stack: Stack) -> None:
    handle = start_watchdog(stack.ledger, timeout=1.5)
    try:
        injector = FaultInjector(FaultLedger(stack.ledger))
        injector.apply_toxic(
            stack.toxiproxy.url, "db", Toxic(name="left", attributes=LatencyAttributes(latency=1))
        )
        time.sleep(3.5)  # more than twice the timeout: only heartbeats keep the toxic
        assert handle.alive() and stack.toxic_names() == ["left"]
        assert handle.stop() == 0  # a fault still active: the watchdog removes it first
        assert stack.toxic_names() == []
        assert "controller gone (eof)" in handle.log_path.read_text()
    finally:
        kill_if_alive(handle.pid)
        handle.proc.wait(timeout=10)
