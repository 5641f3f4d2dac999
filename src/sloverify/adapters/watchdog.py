"""The dead-man switch: a separate process that rolls faults back when the controller dies.

``python -m sloverify.adapters.watchdog --ledger PATH --timeout 3`` reads its stdin, a pipe
from the controller, which writes one heartbeat byte a second from a thread. When the pipe
reaches EOF (the controller died: even SIGKILL closes it) or stays silent for ``timeout``
seconds (the controller froze: SIGSTOP, Ctrl-Z), the watchdog removes every fault still active
in the ledger and exits. A stop byte ends it without a rollback. It runs in its own session, so
a Ctrl-C or a kill of the controller's process group does not reach it, and it logs to
``<ledger>.watchdog.log``.

Only the controller may hold the pipe's write end: Popen's children do not inherit it
(close_fds), but a bare ``os.fork`` would keep it open and delay the EOF until that child exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from enum import StrEnum
from pathlib import Path
from types import FrameType

from sloverify._exceptions import ComponentFailed, RollbackFailed
from sloverify.adapters.faults import ClientFactory, FaultInjector, FaultLedger
from sloverify.adapters.toxiproxy import ToxiproxyClient

log = logging.getLogger("sloverify.watchdog")

HEARTBEAT = b"H"
STOP = b"S"
READY = b"ready\n"
HEARTBEAT_INTERVAL = 1.0


class Wake(StrEnum):
    """Why the watchdog stopped waiting."""

    STOP = "stop"  # the controller asked it to exit: no rollback
    EOF = "eof"  # the controller's end of the pipe closed: it died
    SILENCE = "silence"  # no heartbeat within the timeout: it froze
    TERMINATED = "terminated"  # the watchdog itself got SIGTERM


class _Terminated(Exception):
    pass


def log_path(ledger: Path) -> Path:
    """Where the watchdog of this ledger logs."""
    return ledger.with_name(ledger.name + ".watchdog.log")


def wait_for_controller(fd: int, timeout: float) -> Wake:
    """Read heartbeats from ``fd`` until a stop byte, EOF, or ``timeout`` seconds of silence."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        data = os.read(fd, 4096)
        if not data:
            return Wake.EOF
        if STOP in data:
            return Wake.STOP
        deadline = time.monotonic() + timeout
    return Wake.SILENCE


def roll_back(
    ledger: FaultLedger, client_factory: ClientFactory = ToxiproxyClient, attempts: int = 3
) -> bool:
    """Remove every active fault, retrying failures; True once the ledger holds none."""
    for attempt in range(1, attempts + 1):
        injector = FaultInjector(ledger, client_factory)
        try:
            result = injector.rollback_all()
            log.info("rollback complete: %d fault(s) removed", len(result.removed))
            return True
        except RollbackFailed as exc:
            log.error("rollback attempt %d/%d: %s", attempt, attempts, exc)
        finally:
            injector.close()
        time.sleep(min(2.0, 0.5 * attempt))
    return False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def main(argv: list[str] | None = None) -> int:
    """Run the watchdog: 0 after a stop or a complete rollback, 1 if faults remain."""
    parser = argparse.ArgumentParser(prog="python -m sloverify.adapters.watchdog")
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    ledger = FaultLedger(args.ledger)
    logging.basicConfig(
        filename=log_path(args.ledger),
        level=logging.INFO,
        format=f"%(asctime)s watchdog[{os.getpid()}] %(levelname)s %(message)s",
    )
    # A terminal's signals are for the controller; SIGTERM still gets its rollback first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    log.info(
        "watching %s (controller pid %d, timeout %.1fs)", ledger.path, os.getppid(), args.timeout
    )
    try:
        os.write(sys.stdout.fileno(), READY)
        # The controller closes its end after the handshake; a later print must not EPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        wake = wait_for_controller(sys.stdin.fileno(), args.timeout)
    except _Terminated:
        wake = Wake.TERMINATED
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # nothing cuts a rollback short
    if wake is Wake.STOP:
        log.info("stop requested: exiting without rollback")
        return 0
    active = ledger.active()
    log.warning("controller gone (%s): rolling back %d active fault(s)", wake, len(active))
    for fault in active:
        log.info("  active: %s", fault.describe())
    return 0 if roll_back(ledger) else 1


class Heartbeat:
    """A daemon thread writing one heartbeat byte a second into the watchdog's stdin."""

    def __init__(self, proc: subprocess.Popen[bytes], interval: float = HEARTBEAT_INTERVAL) -> None:
        self.proc = proc
        self.interval = interval
        self.broken = False  # the pipe broke: the watchdog is gone and nothing guards us
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="watchdog-heartbeat", daemon=True)

    def start(self) -> None:
        """Start beating."""
        self._thread.start()

    def stop(self) -> None:
        """Stop beating (the pipe stays open)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * self.interval)

    def write(self, data: bytes) -> bool:
        """Write bytes to the watchdog; False if the pipe is broken."""
        with self._lock:
            if self.proc.stdin is None or self.proc.stdin.closed:
                return False
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
                return True
            except (OSError, ValueError):
                self.broken = True
                return False

    def close(self) -> None:
        """Close the pipe: the watchdog sees EOF."""
        with self._lock:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                try:
                    self.proc.stdin.close()
                except OSError:
                    self.broken = True

    def _run(self) -> None:
        while self.write(HEARTBEAT) and not self._stopped.wait(self.interval):
            pass


class WatchdogHandle:
    """The controller's side of a running watchdog."""

    def __init__(
        self, proc: subprocess.Popen[bytes], heartbeat: Heartbeat, ledger: FaultLedger
    ) -> None:
        self.proc = proc
        self.heartbeat = heartbeat
        self.ledger = ledger
        self.log_path = log_path(ledger.path)

    @property
    def pid(self) -> int:
        """The watchdog's process id."""
        return self.proc.pid

    def alive(self) -> bool:
        """Whether the watchdog still runs and hears us."""
        return self.proc.poll() is None and not self.heartbeat.broken

    def stop(self, timeout: float = 10.0) -> int:
        """End the watchdog; its exit code. Faults still active are rolled back by it first."""
        self.heartbeat.stop()
        if not self.ledger.active():
            self.heartbeat.write(STOP)
        # else: closing without the stop byte reads as EOF, so the watchdog removes what the
        # controller's own rollback left behind instead of leaving it for good.
        self.heartbeat.close()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=5.0)


def start_watchdog(
    ledger_path: Path, timeout: float = 3.0, ready_timeout: float = 15.0
) -> WatchdogHandle:
    """Spawn the watchdog in its own session, wait until it listens, and start heartbeats."""
    if timeout <= HEARTBEAT_INTERVAL:
        raise ValueError(f"timeout {timeout}s must exceed the {HEARTBEAT_INTERVAL}s heartbeat")
    ledger = FaultLedger(Path(ledger_path))
    ledger.path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "sloverify.adapters.watchdog",
        "--ledger",
        str(ledger.path),
        "--timeout",
        str(timeout),
    ]
    with log_path(ledger.path).open("ab") as err:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
            bufsize=0,
        )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], ready_timeout)
    answer = proc.stdout.read(len(READY)) if ready else b""
    proc.stdout.close()
    if answer != READY:
        proc.kill()
        proc.wait()
        tail = log_path(ledger.path).read_text(errors="replace")[-3000:]
        raise ComponentFailed("watchdog", "did not start", command, tail)
    heartbeat = Heartbeat(proc)
    heartbeat.start()
    return WatchdogHandle(proc, heartbeat, ledger)


if __name__ == "__main__":
    sys.exit(main())
