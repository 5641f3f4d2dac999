"""The fault ledger and rollback: every fault is on disk before it is applied.

``FaultLedger`` is an append-only JSON-lines file, fsync'd on every write, shared by the
controller (which records and resolves) and the watchdog (which rolls back whatever is still
active when the controller dies). ``FaultInjector`` applies faults through the ledger and removes
them all on any exit path; ``sloverify.adapters.watchdog`` covers the paths no ``finally`` runs on.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from types import FrameType, TracebackType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from sloverify._exceptions import HarnessError, RollbackFailed, ToxiproxyError
from sloverify.adapters import process_faults as pf
from sloverify.adapters.process_faults import CpuUndo, MemoryUndo, ProcessRef
from sloverify.adapters.toxiproxy import Toxic, ToxiproxyClient

log = logging.getLogger(__name__)


class FaultKind(StrEnum):
    """What a fault is, and so how it is undone."""

    TOXIC = "toxic"  # undone by removing the toxic
    PROXY_DISABLED = "proxy_disabled"  # undone by enabling the proxy
    PROCESS_KILLED = "process_killed"  # nothing to undo: the supervisor restarts it
    PROCESS_PAUSED = "process_paused"  # undone by SIGCONT
    CPU_HOG = "cpu_hog"  # undone by ending the hogs and restoring the target's CPUs
    MEMORY_HOG = "memory_hog"  # undone by ending the hog and removing its cgroup


_PROXY_KINDS = (FaultKind.TOXIC, FaultKind.PROXY_DISABLED)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Fault(_Frozen):
    """One applied (or about to be applied) fault, as the ledger records it."""

    id: str
    kind: FaultKind
    base_url: str = ""  # the Toxiproxy API holding the fault (proxy faults)
    proxy: str = ""
    toxic: str | None = None  # the toxic's name, for kind "toxic" only
    target: ProcessRef | None = None  # the process (process faults)
    cpu: CpuUndo | None = None
    memory: MemoryUndo | None = None
    applied_at: datetime

    @model_validator(mode="after")
    def _fields_fit_the_kind(self) -> Fault:
        if (self.kind is FaultKind.TOXIC) != (self.toxic is not None):
            raise ValueError("a toxic name is required for kind 'toxic' and only for it")
        if (self.kind in _PROXY_KINDS) != bool(self.base_url and self.proxy):
            raise ValueError("a Toxiproxy URL and proxy are required for proxy faults only")
        if (self.kind not in _PROXY_KINDS) != (self.target is not None):
            raise ValueError("a target process is required for process faults only")
        if (self.kind is FaultKind.CPU_HOG) != (self.cpu is not None):
            raise ValueError("a CPU plan is required for a CPU hog and only for it")
        if (self.kind is FaultKind.MEMORY_HOG) != (self.memory is not None):
            raise ValueError("a memory plan is required for a memory hog and only for it")
        return self

    def describe(self) -> str:
        """One line for logs: what, where."""
        if self.target is not None:
            return f"{self.kind.value} of {self.target.name} (pid {self.target.pid}) ({self.id})"
        what = f"toxic {self.toxic!r}" if self.toxic else "disabled proxy"
        return f"{what} on {self.proxy!r} at {self.base_url} ({self.id})"


class _Applied(_Frozen):
    op: Literal["apply"] = "apply"
    fault: Fault


class _Resolved(_Frozen):
    op: Literal["resolve"] = "resolve"
    id: str
    at: datetime


_LINE: TypeAdapter[_Applied | _Resolved] = TypeAdapter(
    Annotated[_Applied | _Resolved, Field(discriminator="op")]
)


class FaultLedger:
    """An append-only, fsync'd JSON-lines file of faults applied and resolved."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def record(self, fault: Fault) -> None:
        """Append the fault and fsync; call it BEFORE applying the fault."""
        self._append(_Applied(fault=fault).model_dump_json())

    def resolve(self, fault_id: str) -> None:
        """Append that the fault with this id is gone."""
        self._append(_Resolved(id=fault_id, at=datetime.now(UTC)).model_dump_json())

    def active(self) -> tuple[Fault, ...]:
        """Faults recorded and not resolved, oldest first."""
        try:
            lines = self.path.read_bytes().split(b"\n")
        except FileNotFoundError:
            return ()
        faults: dict[str, Fault] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = _LINE.validate_json(line)
            except ValidationError:
                # An unterminated last line is a write a crash cut short: its fault was never
                # applied, since applying waits for the fsync. Damage elsewhere earns a warning.
                if number < len(lines):
                    log.warning("%s:%d: unreadable ledger line skipped", self.path, number)
                continue
            if isinstance(entry, _Applied):
                faults[entry.fault.id] = entry.fault
            else:
                faults.pop(entry.id, None)
        return tuple(faults.values())

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _lock(fd)
            data = line.encode() + b"\n"
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # end a torn line first, or this record joins it
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the file's directory entry must survive a crash too
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def _lock(fd: int, wait: float = 2.0) -> None:
    """Lock the ledger against the other process that appends to it (controller or watchdog).

    Bounded, because a controller frozen by SIGSTOP may hold the lock, and the watchdog must
    still record its rollback; one O_APPEND write of a short line does not interleave anyway.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                log.warning("ledger lock still held after %.1fs; appending without it", wait)
                return
            time.sleep(0.01)


@dataclass(frozen=True)
class RollbackResult:
    """What ``rollback_all`` removed (it raises RollbackFailed if anything stayed)."""

    removed: tuple[Fault, ...] = ()


ClientFactory = Callable[[str], ToxiproxyClient]


class FaultInjector:
    """Applies faults through the ledger; as a context manager, rolls back on every exit."""

    def __init__(
        self, ledger: FaultLedger, client_factory: ClientFactory = ToxiproxyClient
    ) -> None:
        self.ledger = ledger
        self._factory = client_factory
        self._clients: dict[str, ToxiproxyClient] = {}
        self._previous: signal._HANDLER = None

    def client(self, base_url: str) -> ToxiproxyClient:
        """The (cached) client for one Toxiproxy server."""
        if base_url not in self._clients:
            self._clients[base_url] = self._factory(base_url)
        return self._clients[base_url]

    def apply_toxic(self, base_url: str, proxy: str, toxic: Toxic) -> Fault:
        """Record, then add the toxic."""
        fault = self._fault(FaultKind.TOXIC, base_url, proxy, toxic.name)
        with self._resolved_unless_applied(fault):
            self.client(base_url).add_toxic(proxy, toxic)
        return fault

    def disable_proxy(self, base_url: str, proxy: str) -> Fault:
        """Record, then disable the proxy (rollback enables it, whatever it was before)."""
        fault = self._fault(FaultKind.PROXY_DISABLED, base_url, proxy, None)
        with self._resolved_unless_applied(fault):
            self.client(base_url).set_enabled(proxy, False)
        return fault

    def kill_process(self, target: ProcessRef) -> Fault:
        """Record, then SIGKILL the target's group; resolved at once (nothing to undo)."""
        fault = self._process_fault(FaultKind.PROCESS_KILLED, target)
        pf.kill(target)
        self.ledger.resolve(fault.id)
        return fault

    def pause_process(self, target: ProcessRef) -> Fault:
        """Record, then SIGSTOP the target's group (rollback: SIGCONT)."""
        fault = self._process_fault(FaultKind.PROCESS_PAUSED, target)
        pf.pause(target)
        return fault

    def cpu_hog(self, target: ProcessRef, workers: int, seconds: float) -> Fault:
        """Record, then share one CPU between the target and ``workers`` spinning hogs."""
        plan = pf.plan_cpu_hog(target)
        fault = self._process_fault(FaultKind.CPU_HOG, target, cpu=plan)
        with self._undone_unless_started(fault):
            pf.start_cpu_hog(fault.id, target, plan, workers, seconds)
        return fault

    def memory_hog(self, target: ProcessRef, megabytes: int, seconds: float) -> Fault:
        """Record, then squeeze the target and a ``megabytes`` hog into one memory cgroup."""
        fault_id = uuid.uuid4().hex
        plan = pf.plan_memory_hog(fault_id, target, megabytes)
        fault = self._process_fault(FaultKind.MEMORY_HOG, target, memory=plan, fault_id=fault_id)
        with self._undone_unless_started(fault):
            pf.start_memory_hog(fault.id, target, plan, megabytes, seconds)
        return fault

    def remove(self, fault: Fault) -> None:
        """Undo one fault and resolve it; already gone (404) counts as removed."""
        if fault.target is not None:
            self._undo_process_fault(fault)
            self.ledger.resolve(fault.id)
            return
        client = self.client(fault.base_url)
        try:
            if fault.kind is FaultKind.TOXIC:
                assert fault.toxic is not None  # the model's validator guarantees it
                client.remove_toxic(fault.proxy, fault.toxic)
            else:
                client.set_enabled(fault.proxy, True)
        except ToxiproxyError as exc:
            if exc.status != 404:
                raise
        self.ledger.resolve(fault.id)

    def rollback_all(self) -> RollbackResult:
        """Remove every active fault; raise RollbackFailed only after trying them all."""
        removed: list[Fault] = []
        failed: list[tuple[str, str]] = []
        for fault in reversed(self.ledger.active()):  # newest first, like unwinding a stack
            try:
                self.remove(fault)
            except Exception as exc:  # one stuck fault must not stop the others' removal
                log.error("rollback failed: %s: %s", fault.describe(), exc)
                failed.append((fault.describe(), str(exc)))
            else:
                log.info("rolled back %s", fault.describe())
                removed.append(fault)
        if failed:
            raise RollbackFailed(failed)
        return RollbackResult(removed=tuple(removed))

    def close(self) -> None:
        """Close the cached clients."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> FaultInjector:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, _raise_system_exit) or signal.SIG_DFL
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            with _signals_deferred() as pending:
                try:
                    self.rollback_all()
                except RollbackFailed as failure:
                    if e is None:
                        raise
                    e.add_note(str(failure))  # keep the original error; say what stayed
        finally:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, self._previous)
            self.close()
        if pending and e is None:  # a signal that came during rollback now takes effect
            raise KeyboardInterrupt if pending[0] == signal.SIGINT else SystemExit(143)

    def _fault(self, kind: FaultKind, base_url: str, proxy: str, toxic: str | None) -> Fault:
        fault = Fault(
            id=uuid.uuid4().hex,
            kind=kind,
            base_url=base_url,
            proxy=proxy,
            toxic=toxic,
            applied_at=datetime.now(UTC),
        )
        self.ledger.record(fault)
        return fault

    def _process_fault(
        self,
        kind: FaultKind,
        target: ProcessRef,
        cpu: CpuUndo | None = None,
        memory: MemoryUndo | None = None,
        fault_id: str | None = None,
    ) -> Fault:
        fault = Fault(
            id=fault_id or uuid.uuid4().hex,
            kind=kind,
            target=target,
            cpu=cpu,
            memory=memory,
            applied_at=datetime.now(UTC),
        )
        self.ledger.record(fault)
        return fault

    @contextlib.contextmanager
    def _undone_unless_started(self, fault: Fault) -> Iterator[None]:
        # Nothing half-applied: a hog that failed to start is undone (and resolved) at once.
        try:
            yield
        except OSError as exc:
            self.remove(fault)
            raise HarnessError(f"could not start {fault.describe()}: {exc}") from exc

    @staticmethod
    def _undo_process_fault(fault: Fault) -> None:
        assert fault.target is not None
        if fault.kind is FaultKind.PROCESS_PAUSED:
            pf.resume(fault.target)
        elif fault.cpu is not None:
            pf.undo_cpu_hog(fault.id, fault.target, fault.cpu)
        elif fault.memory is not None:
            pf.undo_memory_hog(fault.id, fault.target, fault.memory)

    @contextlib.contextmanager
    def _resolved_unless_applied(self, fault: Fault) -> Iterator[None]:
        try:
            yield
        except ToxiproxyError as exc:
            # An answer (4xx/5xx) means the server did not apply it. No answer (status 0)
            # may still mean it did, so the fault stays active for rollback to remove.
            if exc.status != 0:
                self.ledger.resolve(fault.id)
            raise


def _raise_system_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM while rolling back, so a second Ctrl-C cannot cut it short."""
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for sig in saved:
        signal.signal(sig, lambda signum, frame: pending.append(signum))
    try:
        yield pending
    finally:
        for sig, handler in saved.items():  # None: a handler set outside Python; use default
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
