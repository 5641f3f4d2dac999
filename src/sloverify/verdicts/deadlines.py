"""Deadlines from the spec and the measured error ratio: rules/theory.py plus the pipeline's delays.

An alert's rule sees a fault only after a scrape, an evaluation of the recording rules and one of
the alert rules; Alertmanager then waits ``group_wait`` (and Prometheus sends on its next
evaluation). Every figure here is logical (real time) until divided by the time scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from sloverify.rules.alerts import ResolvedAlert
from sloverify.rules.theory import Fault, alert_timing
from sloverify.spec import Duration
from sloverify.verdicts.model import Point

_D = Duration.parse
_SCRAPE, _EVALUATION, _GROUP_WAIT = _D("15s"), _D("30s"), _D("30s")


@dataclass(frozen=True)
class Delays:
    """The monitoring pipeline's intervals at real time (the runtime's defaults)."""

    scrape: Duration = _SCRAPE
    evaluation: Duration = _EVALUATION
    group_wait: Duration = _GROUP_WAIT
    # Real seconds the processes add between firing and the webhook (Prometheus's notifier
    # queue, Alertmanager's dispatch, two HTTP calls on a busy 2-core machine). No time scale
    # shrinks them: at k=720 the scaled delivery is 83 ms, and one notification of 14 took
    # 307 ms (the rest 42 ms).
    dispatch: float = 0.25

    @property
    def pipeline(self) -> float:
        """Seconds from an event to an alert rule that sees it: scrape, recording, alert rule."""
        return self.scrape.seconds + 2 * self.evaluation.seconds

    @property
    def delivery(self) -> float:
        """Seconds from firing at Prometheus to the receiver: next send, then group_wait."""
        return self.evaluation.seconds + self.group_wait.seconds

    def to_receiver(self, scale: float) -> float:
        """Run seconds from firing at Prometheus to the receiver at time scale ``scale``."""
        return self.delivery / scale + self.dispatch


@dataclass(frozen=True)
class FireDeadline:
    """When an alert must fire, in run seconds after the fault starts; None: it cannot."""

    theory: float | None  # logical seconds, rules/theory.py alone (includes ``for``)
    prometheus: float | None  # run seconds: (theory + pipeline) / k
    receiver: float | None  # run seconds: prometheus + delivery / k + dispatch

    @classmethod
    def after(cls, fires: float, *, scale: Fraction, delays: Delays) -> FireDeadline:
        """The deadline for an alert the theory fires ``fires`` logical seconds in."""
        k = float(scale)
        prom = (fires + delays.pipeline) / k
        return cls(fires, prom, prom + delays.to_receiver(k))


@dataclass(frozen=True)
class ResetDeadline:
    """When a fired alert must have resolved, in run seconds after the fault ends."""

    theory: float  # logical seconds
    prometheus: float  # run seconds


def fire_deadline(
    alert: ResolvedAlert,
    error_ratio: float,
    fault_seconds: float,
    *,
    scale: Fraction,
    delays: Delays,
    ramp: float = 0.0,
    baseline: float = 0.0,
) -> FireDeadline:
    """The deadline for ``alert`` under a step fault of ``fault_seconds`` (logical) at ``e``.

    None when the theory says the alert cannot fire before the fault ends.
    """
    fault = Fault(min(error_ratio, 1.0), None, min(baseline, 1.0))
    fires = alert_timing(alert, fault, ramp).fires_after
    if fires is not None and baseline > 0 and fires <= alert.for_.seconds:
        # The baseline (the shortest window just before the fault) is over the threshold,
        # yet the baseline check saw the alert quiet: its long windows (a 30d budget) were
        # under it. A baseline of 0 gives the latest time it can fire: the honest deadline.
        fires = alert_timing(alert, Fault(fault.error_ratio, None, 0.0), ramp).fires_after
    if fires is None or fires > fault_seconds:
        return FireDeadline(fires, None, None)
    return FireDeadline.after(fires, scale=scale, delays=delays)


def reset_deadline(
    alert: ResolvedAlert,
    error_ratio: float,
    fault_seconds: float,
    *,
    scale: Fraction,
    delays: Delays,
    ramp: float = 0.0,
    baseline: float = 0.0,
) -> ResetDeadline:
    """The deadline for a fired ``alert`` to resolve once the fault has ended."""
    fault = Fault(min(error_ratio, 1.0), fault_seconds, min(baseline, 1.0))
    resets = alert_timing(alert, fault, ramp).resets_after or 0.0
    return ResetDeadline(resets, (resets + delays.pipeline) / float(scale))


def steady_mean(points: tuple[Point, ...], start: float, end: float) -> float | None:
    """The mean value of the points in ``[start, end]``; None when there are none."""
    inside = [p.value for p in points if start <= p.at <= end]
    return sum(inside) / len(inside) if inside else None
