"""The engine's events: one frozen type per event. The console, journal and exit codes consume them.

Every event carries ``at`` (run clock seconds) and, except the run's own, the experiment's name.
``EVENT`` parses any of them back from JSON (the journal's reader).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from sloverify.verdicts.model import Notification, SeenAlert, Status, Verdict


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    at: float


class Phase(StrEnum):
    """The phases of one experiment, in order."""

    UP = "up"
    WARM_UP = "warm-up"
    BASELINE = "baseline"
    FAULT = "fault"
    EXPECTATIONS = "expectations"
    RECOVERY = "recovery"
    TEARDOWN = "teardown"


class ConditionContext(BaseModel):
    """One window condition of an alert, for the burn-rate context in reports."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    windows: tuple[str, ...]
    op: str
    threshold: float
    factor: float | None = None


class AlertContext(BaseModel):
    """An alert the experiment is about: what it reads and where it pages."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    severity: str
    slo: str
    objective: float
    budget: float
    for_seconds: float
    conditions: tuple[ConditionContext, ...] = ()


class ClaimContext(BaseModel):
    """One expectation as planned."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    index: int
    label: str
    expect: str
    alert: str | None = None
    severity: str | None = None
    slo: str


class RunStarted(_Event):
    """A run began."""

    event: Literal["run_started"] = "run_started"
    run_id: str
    files: tuple[str, ...]
    dry_run: bool = False


class ExperimentPlanned(_Event):
    """An experiment's plan, before anything is done."""

    event: Literal["experiment_planned"] = "experiment_planned"
    experiment: str
    stack: str
    file: str
    scale: str
    tick: float
    warm_up: float  # run seconds
    fault_span: float  # run seconds
    claims: tuple[ClaimContext, ...]
    alerts: tuple[AlertContext, ...]
    signals: dict[str, str] = Field(default_factory=dict)  # SLO name -> signal query
    budgets: dict[str, float] = Field(default_factory=dict)  # SLO name -> error budget


class PhaseStarted(_Event):
    """A phase began."""

    event: Literal["phase_started"] = "phase_started"
    experiment: str
    phase: Phase
    until: float | None = None  # when it is planned to end (None: when its work is done)


class StackStage(StrEnum):
    """The moments of a live stack's life around an experiment (for time-to-verdict figures)."""

    STARTING = "starting"
    UP = "up"  # every component ready, every target scraped
    WARM = "warm"  # healthy history backfilled
    DOWN = "down"  # torn down


class StackChanged(_Event):
    """A live stack reached a stage (a dry run has none)."""

    event: Literal["stack_changed"] = "stack_changed"
    experiment: str
    stage: StackStage


class StepStarted(_Event):
    """A game day's step began (before its confirmation)."""

    event: Literal["step_started"] = "step_started"
    experiment: str
    step: int  # 1-based
    steps: int
    file: str


class Announced(_Event):
    """A game day's announcement, shown at its moment of a step."""

    event: Literal["announced"] = "announced"
    experiment: str
    moment: str
    text: str


class Confirmed(_Event):
    """A game day's confirmation before a step: who answered, and whether it goes ahead."""

    event: Literal["confirmed"] = "confirmed"
    experiment: str
    step: int
    prompt: str
    answer: bool
    by: str  # "operator", or "--yes"


class FaultApplied(_Event):
    """A fault is on (recorded in the ledger first)."""

    event: Literal["fault_applied"] = "fault_applied"
    experiment: str
    fault: str
    kind: str
    handle: str


class FaultRemoved(_Event):
    """A fault is off."""

    event: Literal["fault_removed"] = "fault_removed"
    experiment: str
    fault: str
    handle: str


class Sampled(_Event):
    """One query's value (None: no data, or the query failed)."""

    event: Literal["sampled"] = "sampled"
    experiment: str
    query: str
    value: float | None


class AlertsPolled(_Event):
    """Prometheus's active alerts at one time."""

    event: Literal["alerts_polled"] = "alerts_polled"
    experiment: str
    alerts: tuple[SeenAlert, ...]


class Notified(_Event):
    """A notification the receivers got."""

    event: Literal["notified"] = "notified"
    experiment: str
    notification: Notification


class Measured(_Event):
    """The error ratio measured during the fault, the base of every deadline."""

    event: Literal["measured"] = "measured"
    experiment: str
    slo: str
    query: str
    error_ratio: float | None
    baseline: float
    samples: int


class GuardTripped(_Event):
    """A guard SLO burned faster than allowed: every fault is removed, the experiment aborts."""

    event: Literal["guard_tripped"] = "guard_tripped"
    experiment: str
    slo: str
    burn_rate: float
    limit: float


class HarnessFailed(_Event):
    """A port could not answer (a component down, a failed rollback)."""

    event: Literal["harness_failed"] = "harness_failed"
    experiment: str
    message: str


class VerdictReached(_Event):
    """One expectation judged."""

    event: Literal["verdict"] = "verdict"
    experiment: str
    verdict: Verdict


class ExperimentFinished(_Event):
    """An experiment ended, with its fault window and its worst verdict."""

    event: Literal["experiment_finished"] = "experiment_finished"
    experiment: str
    status: Status
    fault_start: float | None = None
    fault_end: float | None = None
    aborted: str = ""


class RunFinished(_Event):
    """The run ended."""

    event: Literal["run_finished"] = "run_finished"
    status: Status
    interrupted: bool = False
    stopped: str = ""  # why a game day stopped before its last step ("" if it did not)


Event = Annotated[
    RunStarted
    | ExperimentPlanned
    | PhaseStarted
    | FaultApplied
    | FaultRemoved
    | Sampled
    | AlertsPolled
    | Notified
    | Measured
    | GuardTripped
    | HarnessFailed
    | VerdictReached
    | ExperimentFinished
    | StackChanged
    | StepStarted
    | Announced
    | Confirmed
    | RunFinished,
    Field(discriminator="event"),
]
EVENT: TypeAdapter[Event] = TypeAdapter(Event)
