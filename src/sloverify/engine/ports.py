"""The engine's ports: what it needs from the outside world, as Protocols.

Live adapters (Prometheus, the webhook's notifications, the fault ledger, locust) and the
simulated stack in ``sloverify.adapters.simulation`` both implement them. A port that cannot
answer raises a ``HarnessError``; the engine records it and judges the gap as missing data.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from sloverify.spec.experiment import FaultSpec
from sloverify.verdicts.model import Notification, SeenAlert


class Clock(Protocol):
    """Time, in seconds on the same clock as Prometheus and the webhook."""

    def now(self) -> float:
        """The current time."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait (a fake clock just advances)."""
        ...


class Metrics(Protocol):
    """Instant queries."""

    def query(self, expr: str) -> tuple[float, ...]:
        """The values of every series the expression returns now (empty: no data)."""
        ...


class Alerts(Protocol):
    """Prometheus's active alerts."""

    def active(self) -> tuple[SeenAlert, ...]:
        """Every pending or firing alert now."""
        ...


class Notifications(Protocol):
    """What Alertmanager delivered to the receivers."""

    def since(self, at: float) -> tuple[Notification, ...]:
        """Every notification received at or after ``at``."""
        ...


class Faults(Protocol):
    """Fault injection through the run's fault ledger."""

    def apply(self, fault: FaultSpec, scale: Fraction) -> str:
        """Apply one fault (recorded first); return its handle."""
        ...

    def remove(self, handle: str) -> None:
        """Remove one applied fault."""
        ...

    def remove_all(self) -> None:
        """Remove every fault still applied (raise RollbackFailed if some stay)."""
        ...


class Traffic(Protocol):
    """Load and probes running against the stack."""

    def start(self) -> None:
        """Start the experiment's load and probes."""
        ...

    def stop(self) -> None:
        """Stop them (idempotent)."""
        ...


@dataclass(frozen=True)
class Ports:
    """Everything the engine talks to, in one object."""

    clock: Clock
    metrics: Metrics
    alerts: Alerts
    notifications: Notifications
    faults: Faults
    traffic: Traffic
