"""One child process in its own process group, with a pid file that survives our death.

The pid file records the pid, its process group and the process's start time: a later
sloverify can then end the group if, and only if, the same process still runs (a recycled
pid has a different start time).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class PidRecord:
    """What identifies a running process across sloverify invocations."""

    name: str
    pid: int
    pgid: int
    started: float
    command: tuple[str, ...]

    def alive(self) -> bool:
        """Whether this very process (same pid and start time) still runs."""
        try:
            proc = psutil.Process(self.pid)
            return (
                abs(proc.create_time() - self.started) < 0.5
                and proc.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False

    def write(self, path: Path) -> None:
        """Write atomically, so a reader never sees half a record."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def read(cls, path: Path) -> PidRecord | None:
        """The record in ``path``; None if it is missing or unreadable."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(raw["name"], raw["pid"], raw["pgid"], raw["started"], tuple(raw["command"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def end_group(record: PidRecord, grace: float = 5.0) -> bool:
    """SIGTERM the record's process group, SIGKILL it after ``grace``; False if it was gone."""
    if not record.alive():
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(record.pgid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not record.alive():
                return True
            time.sleep(0.05)
    return True


class ManagedProcess:
    """A started child: its own session and group, output to a log file, a pid file."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log_path: Path,
        pid_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.command = tuple(command)
        self.log_path = log_path
        self.pid_path = pid_path
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None
        self.record: PidRecord | None = None

    def start(self) -> None:
        """Spawn the process; its output is appended to the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(
                f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} starting: {' '.join(self.command)}\n".encode()
            )
            log.flush()
            self._popen = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,  # own group: we can end it whole, and Ctrl-C does not
            )
        pid = self._popen.pid
        try:
            started = psutil.Process(pid).create_time()
        except psutil.Error:
            started = time.time()
        self.record = PidRecord(self.name, pid, pid, started, self.command)
        self.record.write(self.pid_path)

    def exit_code(self) -> int | None:
        """The exit code if the process ended, else None."""
        return None if self._popen is None else self._popen.poll()

    def running(self) -> bool:
        """Whether the process is still running."""
        return self._popen is not None and self._popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """End the whole process group (TERM, then KILL) and reap the child."""
        if self._popen is None:
            return
        if self.record is not None and self._popen.poll() is None:
            end_group(self.record, grace)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout=5)
        self.pid_path.unlink(missing_ok=True)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the log, for error messages."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
