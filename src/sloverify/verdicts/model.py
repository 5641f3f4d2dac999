"""What judging consumes (observations) and produces (verdicts with their evidence).

All times are seconds on the run's clock (the wall clock live, a fake one in tests), the same
clock Prometheus timestamps and the webhook's arrival times use.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Status(StrEnum):
    """A verdict: the claim held, did not hold, or the harness could not tell."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class AlertState(StrEnum):
    """An alert's state at Prometheus."""

    PENDING = "pending"
    FIRING = "firing"


class Point(_Frozen):
    """One value of one query at one time."""

    at: float
    value: float


class SeenAlert(_Frozen):
    """One active alert in one poll of Prometheus's /api/v1/alerts."""

    name: str
    severity: str = ""
    state: AlertState


class AlertPoll(_Frozen):
    """Every active alert at one time (an empty tuple is data: nothing was active)."""

    at: float
    alerts: tuple[SeenAlert, ...] = ()

    def state_of(self, name: str, severity: str | None) -> AlertState | None:
        """The alert's state in this poll, None when inactive."""
        states = [
            a.state
            for a in self.alerts
            if a.name == name and (severity is None or a.severity == severity)
        ]
        if AlertState.FIRING in states:
            return AlertState.FIRING
        return AlertState.PENDING if states else None


class NotificationStatus(StrEnum):
    """What Alertmanager told a receiver."""

    FIRING = "firing"
    RESOLVED = "resolved"


class Notification(_Frozen):
    """One alert in one webhook delivery, with the time the webhook received it."""

    at: float
    receiver: str
    alert: str
    severity: str = ""
    status: NotificationStatus


class Observations(_Frozen):
    """Everything seen during one experiment, keyed as the plan names its queries."""

    fault_start: float
    fault_end: float
    until: float  # the last time anything was observed
    series: dict[str, tuple[Point, ...]] = Field(default_factory=dict)
    polls: tuple[AlertPoll, ...] = ()
    notifications: tuple[Notification, ...] = ()

    def points(self, key: str, start: float, end: float) -> tuple[Point, ...]:
        """Points of one query with ``start <= at <= end``."""
        return tuple(p for p in self.series.get(key, ()) if start <= p.at <= end)


class StateChange(_Frozen):
    """An alert entering a state (None: inactive) at a time."""

    at: float
    state: AlertState | None


class Evidence(_Frozen):
    """Why a verdict is what it is: the queries, the values, the timeline, the notifications."""

    queries: tuple[str, ...] = ()
    values: dict[str, float | None] = Field(default_factory=dict)
    timeline: tuple[StateChange, ...] = ()
    notifications: tuple[Notification, ...] = ()


class Verdict(_Frozen):
    """The judgement of one expectation."""

    index: int  # the expectation's position in the experiment file
    label: str  # "fires MaestroApiAvailabilityFastBurn", for tables and test names
    status: Status
    reason: str
    evidence: Evidence = Evidence()


def worst(statuses: list[Status]) -> Status:
    """The run's status: any failure fails; else any inconclusive; else pass."""
    if Status.FAIL in statuses:
        return Status.FAIL
    if Status.INCONCLUSIVE in statuses or not statuses:
        return Status.INCONCLUSIVE
    return Status.PASS
