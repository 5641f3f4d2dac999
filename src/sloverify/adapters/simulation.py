"""A simulated stack: every engine port's fake, sharing one world driven by a fake clock.

It serves ``chaos run --dry-run`` and the engine's tests. The world follows the rules'
arithmetic: a fault sets the error ratio (``effect``), each SLO's recorded windows average it
(a base SLI first over the range fixed in its query), alerts evaluate the spec's conditions a
scrape and an evaluation late, honour ``for``, and notify their severity's receiver after
``group_wait``. A free query (a restart count, a lag) is modelled as past its alert's threshold while a fault
of effect over one half is on or was on within the alert's window (a count over a window
remembers a crash for the whole window). ``broken`` alerts never fire (an experiment against them must fail);
Under kill faults a free query counts the kills in its window (each weighted by its effect),
as a restart counter's increase would. ``prometheus_down`` makes every query fail (judging must be inconclusive). A ``blind`` SLO
(its SLI selects a label its exporter does not emit: lint SLO006) has no data at all, so its
alerts never fire, as on a live stack.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from sloverify._exceptions import Unreachable
from sloverify.adapters.clock import FakeClock
from sloverify.engine.ports import Ports
from sloverify.rules.alerts import ResolvedAlert
from sloverify.spec import Duration, Op
from sloverify.spec.experiment import (
    FaultSpec,
    KillFault,
    LatencyToxic,
    ProxyDisabledFault,
    ResetPeerToxic,
    TimeoutToxic,
    ToxicFault,
)
from sloverify.verdicts.model import (
    AlertState,
    Notification,
    NotificationStatus,
    SeenAlert,
)
from sloverify.verdicts.plan import Plan, SLOTarget


def default_effect(fault: FaultSpec) -> float:
    """The error ratio a fault causes in the simulation."""
    if isinstance(fault, ProxyDisabledFault):
        return 1.0
    if isinstance(fault, ToxicFault):
        t = fault.toxic
        # A latency past the services' 1 s dependency timeout fails the requests it hits.
        if isinstance(t, ResetPeerToxic | TimeoutToxic) or (
            isinstance(t, LatencyToxic) and t.latency >= 1000
        ):
            return fault.toxicity
        return 0.0
    return 1.0 if fault.kind in ("kill", "pause") else 0.0


def default_slowdown(fault: FaultSpec) -> float:
    """The share of requests a fault makes slow (a latency SLI's error ratio) in the simulation.

    A latency toxic slows the share ``toxicity`` of connections; the simulation counts each as
    over every latency SLI's threshold (live calibration decides how slow is slow enough).
    Anything that fails a request also fails its latency objective.
    """
    if isinstance(fault, ToxicFault) and isinstance(fault.toxic, LatencyToxic):
        return fault.toxicity
    return default_effect(fault)


@dataclass
class _Segment:
    ratio: float
    on: float
    off: float | None = None
    slow: float | None = None  # the ratio a latency SLI sees, when it differs from ``ratio``
    ratios: dict[str, float] | None = None  # by SLO name: the fault's ``simulated`` (only these)

    def ratio_for(self, target: SLOTarget, alert: str | None = None) -> float:
        """The error ratio this fault gives one SLO (or one free-query alert of it, if named)."""
        if self.ratios is not None:
            if alert is not None and alert in self.ratios:
                return self.ratios[alert]
            return self.ratios.get(target.slo.name, 0.0)
        if self.slow is not None and target.slo.sli.latency is not None:
            return self.slow
        return self.ratio


@dataclass
class SimulatedStack:
    """The fake world; it implements Metrics, Alerts, Notifications, Faults and Traffic."""

    plan: Plan
    clock: FakeClock = field(default_factory=FakeClock)
    effect: Callable[[FaultSpec], float] = default_effect
    slowdown: Callable[[FaultSpec], float] = default_slowdown
    baseline: float = 0.0
    broken: frozenset[str] = frozenset()
    blind: frozenset[str] = frozenset()  # sloth ids of SLOs whose SLI returns no data
    prometheus_down: bool = False
    segments: list[tuple[str, _Segment]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)  # "apply name", "remove name": for tests
    traffic_running: bool = False
    _held: dict[tuple[str, str], float] = field(default_factory=dict)
    _firing: set[tuple[str, str]] = field(default_factory=set)
    _notes: list[Notification] = field(default_factory=list)
    _queries: dict[str, tuple[SLOTarget, Duration | None]] = field(default_factory=dict)
    _alert_queries: dict[str, ResolvedAlert] = field(default_factory=dict)
    # When each kill was applied, and what it counts (its effect: 1 unless a test weakens it).
    _kills: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for c in self.plan.claims:
            self._register(c.target)
            if c.witness is not None:
                self._register(c.witness)
            if c.alert is not None and c.alert.query is not None:
                self._alert_queries[c.query] = c.alert
        for g in self.plan.guards:
            self._register(g.target)

    def _register(self, t: SLOTarget) -> None:
        self._queries[t.signal] = (t, None if t.ramp else t.signal_window)
        for a in t.alerts:
            for w in a.windows:
                self._queries[t.record(w)] = (t, w)
        self._queries[t.record(t.signal_window)] = (t, t.signal_window)

    # --- the world ----------------------------------------------------------------------------

    def _k(self) -> float:
        return float(self.plan.scale)

    def _integral(self, a: float, b: float, target: SLOTarget) -> float:
        # The integral of one SLO's error ratio over [a, b]: the active faults' ratios add
        # (two edges failing calls of one SLI), at least the baseline, at most 1.
        cuts = {a, b}
        for _, s in self.segments:
            cuts.update(x for x in (s.on, s.off) if x is not None and a < x < b)
        total, points = 0.0, sorted(cuts)
        for lo, hi in itertools.pairwise(points):
            mid = (lo + hi) / 2
            active = [
                s.ratio_for(target)
                for _, s in self.segments
                if s.on <= mid and (s.off is None or mid < s.off)
            ]
            total += (hi - lo) * min(1.0, max(self.baseline, sum(active)))
        return total

    def _base(self, t: float, ramp: float, target: SLOTarget) -> float:
        if ramp <= 0:
            return self._integral(t - 1e-9, t, target) / 1e-9
        return self._integral(t - ramp, t, target) / ramp

    def value(self, target: SLOTarget, window: Duration | None, t: float) -> float:
        """The error ratio the rules would record for a window (None: the base series) at t."""
        ramp = target.ramp / self._k()
        if window is None:
            return self._base(t, ramp, target)
        w = window.seconds / self._k()
        if not ramp:
            return self._integral(t - w, t, target) / w
        # The base series is piecewise linear (a step fault's ramp), breaking only at a
        # segment's edges and one ramp after them: the trapezoid rule on those points is
        # exact, where sampling a 30d window at a few points would miss an hour's fault.
        edges = {t - w, t}
        for _, s in self.segments:
            for x in (s.on, s.off):
                if x is not None:
                    edges.update(y for y in (x, x + ramp) if t - w < y < t)
        points = sorted(edges)
        area = sum(
            (hi - lo) * (self._base(lo, ramp, target) + self._base(hi, ramp, target)) / 2
            for lo, hi in itertools.pairwise(points)
        )
        return area / w

    def query_value(self, alert: ResolvedAlert, t: float) -> float:
        """A query alert's query at t: past its threshold while its window holds a strong fault.

        A fault of share ``s`` moves it ``(2s - 1)`` units (at least 1) from its threshold.

        Under kill faults the query is a restart counter's increase: the kills in its window.
        """
        q = alert.query
        assert q is not None
        w = q.window.seconds / self._k()
        if self._kills:
            return float(sum(weight for at, weight in self._kills if t - w < at <= t))
        # A fault's ``simulated`` ratio for the alert (or else its SLO), as its window sees it:
        # alerts on one SLO can differ (dvt's lag moves under a bus outage, its gap count not).
        slo = next((c.target for c in self.plan.claims if c.alert == alert), None)
        share = max(
            [self.baseline]
            + [
                s.ratio if slo is None else s.ratio_for(slo, alert.name)
                for _, s in self.segments
                if s.on <= t and (s.off is None or s.off > t - w)
            ]
        )
        sign = 1.0 if q.op in (Op.GT, Op.GE) else -1.0
        value = q.value + sign * (2 * share - 1) * max(abs(q.value), 1.0)
        # A count, a lag or a rate never goes below 0: an unmoved gap count (> 0) rests at 0.
        return max(value, 0.0) if q.value >= 0 else value

    def _holds(self, target: SLOTarget, alert: ResolvedAlert, t: float) -> bool:
        if target.sloth_id in self.blind:
            return False
        if alert.query is not None:
            return alert.query.op.holds(self.query_value(alert, t), alert.query.value)
        return any(
            all(c.op.holds(self.value(target, w, t), c.threshold) for w in c.windows)
            for c in alert.conditions
        )

    # --- ports --------------------------------------------------------------------------------

    def query(self, expr: str) -> tuple[float, ...]:
        """Metrics.query: the value of a known query, () for any other."""
        if self.prometheus_down:
            raise Unreachable("http://127.0.0.1:9/api/v1/query", "simulated Prometheus is down")
        if expr in self._alert_queries:
            # What Prometheus holds: scraped a scrape interval late, like the alert rule reads.
            t = self.clock.now() - self.plan.delays.scrape.seconds / self._k()
            return (self.query_value(self._alert_queries[expr], t),)
        known = self._queries.get(expr)
        if known is None or known[0].sloth_id in self.blind:
            return ()
        return (self.value(known[0], known[1], self.clock.now()),)

    def active(self) -> tuple[SeenAlert, ...]:
        """Alerts.active: evaluated a scrape and an evaluation late, with ``for``."""
        if self.prometheus_down:
            raise Unreachable("http://127.0.0.1:9/api/v1/alerts", "simulated Prometheus is down")
        d = self.plan.delays
        now = self.clock.now()
        t = now - (d.scrape.seconds + d.evaluation.seconds) / self._k()
        out = []
        targets = {c.target.sloth_id: c.target for c in self.plan.claims}
        for target in targets.values():
            for a in target.alerts:
                key = (a.name, a.severity)
                if a.name not in self.broken and self._holds(target, a, t):
                    since = self._held.setdefault(key, now)
                    firing = now - since >= a.for_.seconds / self._k()
                    out.append(
                        SeenAlert(
                            name=a.name,
                            severity=a.severity,
                            state=AlertState.FIRING if firing else AlertState.PENDING,
                        )
                    )
                    if firing and key not in self._firing:
                        self._firing.add(key)
                        self._notify(a, NotificationStatus.FIRING, now)
                else:
                    self._held.pop(key, None)
                    if key in self._firing:
                        self._firing.discard(key)
                        self._notify(a, NotificationStatus.RESOLVED, now)
        return tuple(out)

    def _notify(self, a: ResolvedAlert, status: NotificationStatus, now: float) -> None:
        at = now + self.plan.delays.group_wait.seconds / self._k()
        self._notes.append(
            Notification(
                at=at, receiver=a.severity, alert=a.name, severity=a.severity, status=status
            )
        )

    def since(self, at: float) -> tuple[Notification, ...]:
        """Notifications.since: those delivered by now."""
        now = self.clock.now()
        return tuple(n for n in self._notes if at <= n.at <= now)

    def apply(self, fault: FaultSpec, scale: Fraction) -> str:
        """Faults.apply."""
        self.log.append(f"apply {fault.name}")
        if isinstance(fault, KillFault):
            self._kills.append((self.clock.now(), self.effect(fault)))
        ratio, slow = self.effect(fault), self.slowdown(fault)
        segment = _Segment(
            ratio,
            self.clock.now(),
            slow=None if slow == ratio else slow,
            ratios=dict(fault.simulated) if fault.simulated else None,
        )
        self.segments.append((fault.name, segment))
        return f"sim-{fault.name}"

    def remove(self, handle: str) -> None:
        """Faults.remove."""
        name = handle.removeprefix("sim-")
        self.log.append(f"remove {name}")
        for n, seg in self.segments:
            if n == name and seg.off is None:
                seg.off = self.clock.now()

    def remove_all(self) -> None:
        """Faults.remove_all."""
        for name, seg in self.segments:
            if seg.off is None:
                self.remove(f"sim-{name}")

    @property
    def applied(self) -> tuple[str, ...]:
        """Faults still on."""
        return tuple(n for n, s in self.segments if s.off is None)

    def start(self) -> None:
        """Traffic.start."""
        self.traffic_running = True

    def stop(self) -> None:
        """Traffic.stop."""
        self.traffic_running = False


def simulated_ports(stack: SimulatedStack) -> Ports:
    """The engine's ports, all served by one simulated stack."""
    return Ports(
        clock=stack.clock,
        metrics=stack,
        alerts=stack,
        notifications=stack,
        faults=stack,
        traffic=stack,
    )
