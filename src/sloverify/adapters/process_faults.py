"""Process faults: kill, pause, CPU hog, memory hog, each with the exact means to undo it.

The ledger records a process fault before it is applied, with everything its undo needs
(the target's identity, its CPUs before, the cgroup made for it), so the watchdog can undo
it without the controller. A target is named by pid, process group and start time: an undo
never signals a recycled pid.

- kill: SIGKILL to the target's group; nothing to undo (the supervisor restarts it).
- pause: SIGSTOP to the group; undone by SIGCONT.
- CPU hog: the target's group and N spinning hogs pinned to one CPU, so the target gets
  about 1/(N+1) of it; undone by ending the hogs and restoring the target's CPUs.
- memory hog: the target's group and a hog share a memory cgroup whose limit is a little
  below what the hog allocates, and the target is made the OOM killer's first choice: when
  the hog reaches the limit the kernel kills the target, as a container's OOM kill would,
  then the hog. (Memory already charged elsewhere does not move with a process on current
  kernels, so the hog's own growth is what must reach the limit.) Undone by ending the hog,
  restoring the target's OOM score, moving what is left home and removing the cgroup.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from pydantic import BaseModel, ConfigDict

from sloverify._exceptions import HarnessError

MEMORY_CGROUPS = Path("/sys/fs/cgroup/memory")
HOG = "sloverify.adapters.hog"


class ProcessRef(BaseModel):
    """A process group's leader as the ledger names it: pid, group and start time."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    pid: int
    pgid: int
    started: float

    def alive(self) -> bool:
        """Whether this very process (same pid and start time) still runs."""
        try:
            proc = psutil.Process(self.pid)
            return abs(proc.create_time() - self.started) < 0.5 and (
                proc.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False

    def group(self) -> list[psutil.Process]:
        """Every live process of the target's group (postgres forks, uvicorn workers)."""
        if not self.alive():
            return []
        out = []
        for p in psutil.process_iter():
            try:
                if os.getpgid(p.pid) == self.pgid:
                    out.append(p)
            except (OSError, psutil.Error):
                continue
        return out


class CpuUndo(BaseModel):
    """What undoing a CPU hog restores: the target's CPUs before."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cpus: tuple[int, ...]
    core: int


class MemoryUndo(BaseModel):
    """What undoing a memory hog removes and restores: its cgroup, the target's own cgroup."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cgroup: str
    home: str
    limit_bytes: int
    oom_score_adj: int


def kill(target: ProcessRef) -> None:
    """SIGKILL the target's group (if it is still the same process)."""
    if target.alive():
        _killpg(target.pgid, signal.SIGKILL)


def pause(target: ProcessRef) -> None:
    """SIGSTOP the target's group."""
    if not target.alive():
        raise HarnessError(f"cannot pause {target.name}: pid {target.pid} is not running")
    _killpg(target.pgid, signal.SIGSTOP)


def resume(target: ProcessRef) -> None:
    """SIGCONT the target's group, if it is still the same process."""
    if target.alive():
        _killpg(target.pgid, signal.SIGCONT)


def plan_cpu_hog(target: ProcessRef) -> CpuUndo:
    """The target's CPUs now, and the one its group and the hogs will share."""
    cpus = tuple(sorted(os.sched_getaffinity(target.pid)))
    return CpuUndo(cpus=cpus, core=cpus[-1])


def start_cpu_hog(
    fault_id: str, target: ProcessRef, plan: CpuUndo, workers: int, seconds: float
) -> None:
    """Pin the target's group to one CPU and start ``workers`` hogs spinning on it."""
    for p in target.group():
        _pin(p.pid, {plan.core})
    for _ in range(workers):
        hog = _spawn(fault_id, seconds, ["--cpu"])
        _pin(hog.pid, {plan.core})


def undo_cpu_hog(fault_id: str, target: ProcessRef, plan: CpuUndo) -> None:
    """End the hogs, then give the target its CPUs back."""
    end_hogs(fault_id)
    for p in target.group():
        _pin(p.pid, set(plan.cpus))


def plan_memory_hog(fault_id: str, target: ProcessRef, megabytes: int) -> MemoryUndo:
    """A cgroup for the target and a ``megabytes`` hog, too small for both of them."""
    if not os.access(MEMORY_CGROUPS, os.W_OK):
        raise HarnessError(
            f"a memory hog needs a writable memory cgroup at {MEMORY_CGROUPS} "
            "(cgroup v1, as root); this machine has none"
        )
    if megabytes < 32:
        raise HarnessError(f"a memory hog needs at least 32 MiB to be felt, not {megabytes}")
    return MemoryUndo(
        cgroup=str(MEMORY_CGROUPS / f"sloverify-{fault_id[:16]}"),
        home=_memory_cgroup_of(target.pid),
        limit_bytes=(megabytes - 16) << 20,
        oom_score_adj=int(Path(f"/proc/{target.pid}/oom_score_adj").read_text()),
    )


def start_memory_hog(
    fault_id: str, target: ProcessRef, plan: MemoryUndo, megabytes: int, seconds: float
) -> None:
    """Move the target's group into the cgroup, then start the hog inside it."""
    cgroup = Path(plan.cgroup)
    cgroup.mkdir(exist_ok=True)
    (cgroup / "memory.limit_in_bytes").write_text(str(plan.limit_bytes))
    for p in target.group():
        _move(p.pid, cgroup)
        _oom_score_adj(p.pid, 1000)
    _spawn(fault_id, seconds, ["--memory-mb", str(megabytes)], cgroup=cgroup)


def undo_memory_hog(fault_id: str, target: ProcessRef, plan: MemoryUndo) -> None:
    """End the hog, restore the target's OOM score, move what is left home, remove the cgroup."""
    end_hogs(fault_id)
    for p in target.group():
        _oom_score_adj(p.pid, plan.oom_score_adj)
    cgroup = Path(plan.cgroup)
    if not cgroup.exists():
        return
    home = MEMORY_CGROUPS / plan.home.lstrip("/")
    _remove_cgroup(cgroup, home)


def _remove_cgroup(cgroup: Path, home: Path, attempts: int = 50) -> None:
    """Move what is left in ``cgroup`` home and remove it, waiting out a dying task.

    Right after an OOM kill the kernel can still count the killed task (it is exiting and
    its memory is being uncharged), and rmdir answers EBUSY for a moment; seen once in CI.
    """
    for attempt in range(attempts):
        for line in (cgroup / "cgroup.procs").read_text().split():
            _move(int(line), home)
        try:
            cgroup.rmdir()
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or attempt == attempts - 1:
                raise
            time.sleep(0.1)


def end_hogs(fault_id: str) -> int:
    """SIGKILL every hog started for ``fault_id``; how many there were."""
    hogs = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info.get("cmdline") or []
        if HOG in cmd and fault_id in cmd:
            hogs.append(p)
    for p in hogs:
        try:
            p.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(hogs, timeout=5)
    return len(hogs)


def _spawn(
    fault_id: str, seconds: float, what: list[str], cgroup: Path | None = None
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        HOG,
        "--fault-id",
        fault_id,
        "--seconds",
        f"{seconds:g}",
        *what,
    ]

    def enter() -> None:  # in the child, before exec: the hog must never allocate outside
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C at the controller is not the hog's to get
        preexec_fn=enter,
    )


def _memory_cgroup_of(pid: int) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return path
    return "/"


def _move(pid: int, cgroup: Path) -> None:
    with contextlib.suppress(OSError):  # gone meanwhile: nothing to move
        (cgroup / "cgroup.procs").write_text(str(pid))


def _oom_score_adj(pid: int, value: int) -> None:
    with contextlib.suppress(OSError):  # gone meanwhile
        Path(f"/proc/{pid}/oom_score_adj").write_text(str(value))


def _pin(pid: int, cpus: set[int]) -> None:
    with contextlib.suppress(OSError):  # gone meanwhile
        os.sched_setaffinity(pid, cpus)


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
