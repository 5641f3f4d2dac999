"""Run folders: where a run keeps its logs, data, pid files and state, and how orphans are found.

A run folder is ``$SLOVERIFY_RUNS/<id>`` (default ``/tmp/sloverify-<uid>/runs``: world-
traversable, because PostgreSQL refuses to run as root and its data must be reachable by the
``postgres`` user). ``controller.json`` names the process that supervises the run; when that
process is gone but components still run, the run is orphaned and the next start ends it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from sloverify.adapters.runtime.process import PidRecord, end_group


class Status(StrEnum):
    """A component's state as the supervisor sees it."""

    STARTING = "starting"
    READY = "ready"
    RESTARTING = "restarting"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass
class ComponentState:
    """What ``sloverify status`` shows for one component."""

    name: str
    url: str
    ports: dict[str, int]
    status: Status = Status.STARTING
    restarts: int = 0
    log: str = ""
    external: bool = False


@dataclass
class RunState:
    """The state file of a run, rewritten whole on every change."""

    id: str
    started: float
    time_scale: str = "1"
    components: list[ComponentState] = field(default_factory=list)
    ready: bool = False
    error: str = ""

    def component(self, name: str) -> ComponentState | None:
        """The state of one component by name."""
        return next((c for c in self.components if c.name == name), None)


def runs_root() -> Path:
    """Where run folders live."""
    return Path(os.environ.get("SLOVERIFY_RUNS") or f"/tmp/sloverify-{os.getuid()}/runs")


@dataclass(frozen=True)
class RunDir:
    """One run's folder and the files in it."""

    path: Path

    @property
    def id(self) -> str:
        """The run's id (its folder name)."""
        return self.path.name

    @classmethod
    def create(cls, root: Path | None = None) -> RunDir:
        """A new, empty run folder."""
        base = root or runs_root()
        base.mkdir(parents=True, exist_ok=True)
        for p in (base, base.parent):
            p.chmod(0o755)  # postgres (another user) must traverse to its data folder
        run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        path = base / run_id
        for sub in ("logs", "pids", "data", "config"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        path.chmod(0o755)
        return cls(path)

    def log(self, name: str) -> Path:
        """A component's log file."""
        return self.path / "logs" / f"{name}.log"

    def pid(self, name: str) -> Path:
        """A component's pid file."""
        return self.path / "pids" / f"{name}.json"

    def data(self, name: str) -> Path:
        """A component's data folder (created)."""
        d = self.path / "data" / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def config(self, name: str) -> Path:
        """A generated configuration file."""
        return self.path / "config" / name

    @property
    def controller_file(self) -> Path:
        """The pid record of the process supervising this run."""
        return self.path / "controller.json"

    def write_state(self, state: RunState) -> None:
        """Write the state file atomically."""
        tmp = self.path / "state.json.tmp"
        tmp.write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
        os.replace(tmp, self.path / "state.json")

    def read_state(self) -> RunState | None:
        """The run's state, or None if there is none yet."""
        try:
            raw = json.loads((self.path / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        comps = [
            ComponentState(**{**c, "status": Status(c["status"])}) for c in raw.pop("components")
        ]
        return RunState(**raw, components=comps)

    def controller(self) -> PidRecord | None:
        """The controller's pid record, if written."""
        return PidRecord.read(self.controller_file)

    def live_components(self) -> list[PidRecord]:
        """Pid records of this run's components that still run."""
        records = (PidRecord.read(p) for p in sorted((self.path / "pids").glob("*.json")))
        return [r for r in records if r is not None and r.alive()]

    def active(self) -> bool:
        """Whether the run's controller still runs."""
        record = self.controller()
        return record is not None and record.alive()


def all_runs(root: Path | None = None) -> Iterator[RunDir]:
    """Every run folder, newest first."""
    base = root or runs_root()
    if base.exists():
        for p in sorted(base.iterdir(), reverse=True):
            if p.is_dir():
                yield RunDir(p)


def latest_active(root: Path | None = None) -> RunDir | None:
    """The newest run whose controller still runs."""
    return next((r for r in all_runs(root) if r.active()), None)


def end_orphans(root: Path | None = None) -> list[str]:
    """End the components of every run whose controller is gone; names of what was ended."""
    ended = []
    for run in all_runs(root):
        if run.active():
            continue
        for record in run.live_components():
            if end_group(record):
                ended.append(f"{run.id}/{record.name} (pid {record.pid})")
            run.pid(record.name).unlink(missing_ok=True)
    return ended
