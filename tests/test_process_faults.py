"""Process faults for real: pause, kill, CPU and memory hogs, each undone by rollback."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from sloverify.adapters import process_faults as pf
from sloverify.adapters.faults import FaultInjector, FaultKind, FaultLedger
from sloverify.adapters.process_faults import MEMORY_CGROUPS, ProcessRef, end_hogs
from sloverify.adapters.watchdog import roll_back


def _target(code: str = "import time\nwhile True: time.sleep(0.05)") -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def _ref(proc: subprocess.Popen[bytes]) -> ProcessRef:
    return ProcessRef(
        name="target",
        pid=proc.pid,
        pgid=os.getpgid(proc.pid),
        started=psutil.Process(proc.pid).create_time(),
    )


@pytest.fixture
def target() -> Iterator[subprocess.Popen[bytes]]:
    proc = _target()
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def injector(tmp_path: Path) -> Iterator[FaultInjector]:
    with FaultInjector(FaultLedger(tmp_path / "faults.jsonl")) as inj:
        yield inj


def _status(proc: subprocess.Popen[bytes], want: str | None = None) -> str:
    # Signals are delivered asynchronously: give the state a moment to become ``want``.
    deadline = time.monotonic() + 2
    while True:
        status = str(psutil.Process(proc.pid).status())
        if want is None or status == want or time.monotonic() > deadline:
            return status
        time.sleep(0.01)


def test_a_paused_process_is_resumed_by_rollback(
    target: subprocess.Popen[bytes], injector: FaultInjector
) -> None:
    fault = injector.pause_process(_ref(target))
    assert _status(target, psutil.STATUS_STOPPED) == psutil.STATUS_STOPPED
    assert [f.id for f in injector.ledger.active()] == [fault.id]
    injector.rollback_all()
    assert _status(target, psutil.STATUS_SLEEPING) != psutil.STATUS_STOPPED
    assert injector.ledger.active() == ()


def test_the_watchdog_resumes_a_pause_the_controller_left(
    target: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    ledger = FaultLedger(tmp_path / "faults.jsonl")
    FaultInjector(ledger).pause_process(_ref(target))  # the controller "dies" here
    assert roll_back(ledger)  # what the watchdog runs
    assert _status(target, psutil.STATUS_SLEEPING) != psutil.STATUS_STOPPED


def test_a_kill_is_recorded_and_resolved_at_once(
    target: subprocess.Popen[bytes], injector: FaultInjector
) -> None:
    fault = injector.kill_process(_ref(target))
    assert target.wait(timeout=5) == -9
    assert fault.kind is FaultKind.PROCESS_KILLED and injector.ledger.active() == ()


def test_an_undo_never_signals_a_recycled_pid(
    target: subprocess.Popen[bytes], injector: FaultInjector
) -> None:
    stale = _ref(target).model_copy(update={"started": 1.0})  # same pid, another process
    injector.kill_process(stale)
    time.sleep(0.2)
    assert target.poll() is None


def test_a_cpu_hog_shares_one_cpu_with_the_target_until_rollback(
    target: subprocess.Popen[bytes], injector: FaultInjector
) -> None:
    before = os.sched_getaffinity(target.pid)
    fault = injector.cpu_hog(_ref(target), workers=2, seconds=30)
    assert fault.cpu is not None
    assert os.sched_getaffinity(target.pid) == {fault.cpu.core}
    hogs = [p for p in psutil.process_iter(["cmdline"]) if fault.id in (p.info["cmdline"] or [])]
    assert len(hogs) == 2 and all(os.sched_getaffinity(h.pid) == {fault.cpu.core} for h in hogs)
    injector.rollback_all()
    assert os.sched_getaffinity(target.pid) == before
    assert end_hogs(fault.id) == 0  # none left to end


def test_a_memory_hog_gets_the_target_oom_killed_and_leaves_no_cgroup(
    injector: FaultInjector,
) -> None:
    assert os.access(MEMORY_CGROUPS, os.W_OK), f"{MEMORY_CGROUPS} must be writable (run as root)"
    # The hog grows to 200 MiB in a 184 MiB cgroup shared with the target: the target goes first.
    proc = _target(
        "import time\nx = bytearray(60 << 20)\nx[::4096] = b'1' * len(x[::4096])\nwhile True: time.sleep(0.05)"
    )
    try:
        time.sleep(0.5)
        fault = injector.memory_hog(_ref(proc), megabytes=200, seconds=30)
        assert fault.memory is not None and Path(fault.memory.cgroup).exists()
        assert proc.wait(timeout=20) == -9  # the kernel's OOM killer, not us
        injector.rollback_all()
        assert not Path(fault.memory.cgroup).exists()
        assert end_hogs(fault.id) == 0
    finally:
        proc.kill()
        proc.wait()


class _BusyCgroup(type(Path())):  # type: ignore[misc]
    """A directory whose rmdir answers EBUSY a few times, as a memory cgroup does after an OOM kill."""

    busy = 0

    def rmdir(self) -> None:
        if _BusyCgroup.busy:
            _BusyCgroup.busy -= 1
            raise OSError(errno.EBUSY, "Device or resource busy", str(self))
        (self / "cgroup.procs").unlink()  # a real cgroup's files vanish with it
        super().rmdir()


def _busy_cgroup(tmp_path: Path, busy: int) -> Path:
    cgroup = _BusyCgroup(tmp_path / "sloverify-x")
    cgroup.mkdir()
    (cgroup / "cgroup.procs").touch()
    _BusyCgroup.busy = busy
    return cgroup


def test_a_cgroup_busy_for_a_moment_after_an_oom_kill_is_still_removed(tmp_path: Path) -> None:
    cgroup = _busy_cgroup(tmp_path, busy=3)
    pf._remove_cgroup(cgroup, tmp_path)
    assert not cgroup.exists()


def test_a_cgroup_that_stays_busy_is_reported_not_waited_on_forever(tmp_path: Path) -> None:
    cgroup = _busy_cgroup(tmp_path, busy=3)
    with pytest.raises(OSError, match="busy"):
        pf._remove_cgroup(cgroup, tmp_path, attempts=2)
    assert cgroup.exists()
