"""A run folded from its journal's events: what every report renders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sloverify.engine.events import (
    AlertsPolled,
    Event,
    ExperimentFinished,
    ExperimentPlanned,
    FaultApplied,
    FaultRemoved,
    GuardTripped,
    HarnessFailed,
    Measured,
    Notified,
    RunFinished,
    RunStarted,
    Sampled,
    VerdictReached,
)
from sloverify.verdicts.model import Notification, Point, Status, Verdict, worst


@dataclass
class ExperimentRecord:
    """One experiment as the journal tells it."""

    planned: ExperimentPlanned
    verdicts: list[Verdict] = field(default_factory=list)
    series: dict[str, list[Point]] = field(default_factory=dict)
    polls: list[AlertsPolled] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    faults: list[FaultApplied | FaultRemoved] = field(default_factory=list)
    measured: list[Measured] = field(default_factory=list)
    guard: GuardTripped | None = None
    problems: list[str] = field(default_factory=list)
    finished: ExperimentFinished | None = None

    @property
    def name(self) -> str:
        """The experiment's name."""
        return self.planned.experiment

    @property
    def status(self) -> Status:
        """Its status; inconclusive if the journal ends before it finished."""
        return self.finished.status if self.finished else Status.INCONCLUSIVE

    @property
    def start(self) -> float:
        """The first time it was observed."""
        return self.planned.at


@dataclass
class RunRecord:
    """A whole run."""

    started: RunStarted | None = None
    experiments: list[ExperimentRecord] = field(default_factory=list)
    finished: RunFinished | None = None

    @property
    def status(self) -> Status:
        """The run's status: the worst experiment's (inconclusive when none finished)."""
        if self.finished is not None:
            return self.finished.status
        return worst([e.status for e in self.experiments])

    def verdicts(self) -> list[tuple[ExperimentRecord, Verdict]]:
        """Every verdict with its experiment."""
        return [(e, v) for e in self.experiments for v in e.verdicts]


def fold(events: Iterable[Event]) -> RunRecord:
    """Fold a journal's events into a record."""
    run = RunRecord()
    by_name: dict[str, ExperimentRecord] = {}
    for ev in events:
        if isinstance(ev, RunStarted):
            run.started = ev
        elif isinstance(ev, RunFinished):
            run.finished = ev
        elif isinstance(ev, ExperimentPlanned):
            by_name[ev.experiment] = rec = ExperimentRecord(ev)
            run.experiments.append(rec)
        else:
            rec_or_none = by_name.get(getattr(ev, "experiment", ""))
            if rec_or_none is not None:
                _add(rec_or_none, ev)
    return run


def _add(rec: ExperimentRecord, ev: Event) -> None:
    if isinstance(ev, VerdictReached):
        rec.verdicts.append(ev.verdict)
    elif isinstance(ev, Sampled) and ev.value is not None:
        rec.series.setdefault(ev.query, []).append(Point(at=ev.at, value=ev.value))
    elif isinstance(ev, AlertsPolled):
        rec.polls.append(ev)
    elif isinstance(ev, Notified):
        rec.notifications.append(ev.notification)
    elif isinstance(ev, FaultApplied | FaultRemoved):
        rec.faults.append(ev)
    elif isinstance(ev, Measured):
        rec.measured.append(ev)
    elif isinstance(ev, GuardTripped):
        rec.guard = ev
    elif isinstance(ev, HarnessFailed):
        rec.problems.append(ev.message)
    elif isinstance(ev, ExperimentFinished):
        rec.finished = ev
