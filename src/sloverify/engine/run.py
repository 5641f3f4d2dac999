"""Run one experiment: up, warm-up, baseline, fault, expectations, recovery, teardown.

Every step is an event handed to ``emit``; nothing here prints or writes. Faults are removed in
a ``finally`` (also on KeyboardInterrupt), and a tripped guard removes them at once. A port
that fails is recorded and leaves a gap in the data, which judging treats as inconclusive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sloverify._exceptions import HarnessError
from sloverify.engine.context import planned
from sloverify.engine.events import (
    AlertsPolled,
    Event,
    ExperimentFinished,
    FaultApplied,
    FaultRemoved,
    GuardTripped,
    HarnessFailed,
    Measured,
    Notified,
    Phase,
    PhaseStarted,
    Sampled,
    VerdictReached,
)
from sloverify.engine.ports import Ports
from sloverify.spec.experiment import FaultSpec, Fires, KillFault, Resolves, Silent
from sloverify.verdicts.deadlines import reset_deadline
from sloverify.verdicts.judge import inconclusive_all, judge
from sloverify.verdicts.measured import measure
from sloverify.verdicts.model import (
    AlertPoll,
    AlertState,
    Notification,
    Observations,
    Point,
    Status,
    Verdict,
    worst,
)
from sloverify.verdicts.plan import Plan

Emit = Callable[[Event], None]


class _Abort(Exception):
    """Stop the experiment early; every verdict becomes inconclusive with this reason."""


@dataclass
class _Recorder:
    """Polls every port once per tick, emitting what it sees and keeping it for judging."""

    plan: Plan
    ports: Ports
    emit: Emit
    series: dict[str, list[Point]] = field(default_factory=dict)
    polls: list[AlertPoll] = field(default_factory=list)
    notes: list[Notification] = field(default_factory=list)
    since: float = 0.0

    @property
    def name(self) -> str:
        return self.plan.experiment.name

    def _failed(self, exc: HarnessError) -> None:
        self.emit(HarnessFailed(at=self.ports.clock.now(), experiment=self.name, message=str(exc)))

    def poll(self) -> None:
        now = self.ports.clock.now()
        for query in self.plan.queries():
            try:
                values = self.ports.metrics.query(query)
            except HarnessError as exc:
                self._failed(exc)
                values = ()
            value = max(values) if values else None
            self.emit(Sampled(at=now, experiment=self.name, query=query, value=value))
            if value is not None:
                self.series.setdefault(query, []).append(Point(at=now, value=value))
        try:
            alerts = self.ports.alerts.active()
        except HarnessError as exc:
            self._failed(exc)
        else:
            self.polls.append(AlertPoll(at=now, alerts=alerts))
            self.emit(AlertsPolled(at=now, experiment=self.name, alerts=alerts))
        try:
            fresh = [n for n in self.ports.notifications.since(self.since) if n not in self.notes]
        except HarnessError as exc:
            self._failed(exc)
            fresh = []
        for n in fresh:
            self.notes.append(n)
            self.emit(Notified(at=n.at, experiment=self.name, notification=n))

    def latest(self, query: str) -> float | None:
        points = self.series.get(query)
        return points[-1].value if points else None

    def observations(self, start: float, end: float) -> Observations:
        return Observations(
            fault_start=start,
            fault_end=end,
            until=self.ports.clock.now(),
            series={k: tuple(v) for k, v in self.series.items()},
            polls=tuple(self.polls),
            notifications=tuple(self.notes),
        )


@dataclass
class _Run:
    """One experiment's state while it runs."""

    plan: Plan
    ports: Ports
    emit: Emit
    rec: _Recorder
    applied: dict[str, str] = field(default_factory=dict)  # fault name -> handle
    fault_start: float | None = None
    fault_end: float | None = None
    _removing: float | None = None  # when the latest removal began

    @property
    def name(self) -> str:
        return self.plan.experiment.name

    def now(self) -> float:
        return self.ports.clock.now()

    def phase(self, phase: Phase, length: float | None = None) -> None:
        # ``length``: run seconds the phase is planned to last, so a console can count down.
        now = self.now()
        until = None if length is None else now + length
        self.emit(PhaseStarted(at=now, experiment=self.name, phase=phase, until=until))

    def watch(self, until: float, guarded: bool) -> None:
        # Bounded: the clock advances by one tick per round.
        while self.now() < until:
            self.step(guarded)
            self.ports.clock.sleep(min(self.plan.tick, max(until - self.now(), 0.0)))

    def step(self, guarded: bool) -> None:
        self.rec.poll()
        if guarded:
            self.check_guards()

    def check_guards(self) -> None:
        for g in self.plan.guards:
            value = self.rec.latest(g.query)
            if value is None:
                continue
            burn = value / g.target.budget
            if burn > g.max_burn_rate:
                self.emit(
                    GuardTripped(
                        at=self.now(),
                        experiment=self.name,
                        slo=g.target.slo.name,
                        burn_rate=burn,
                        limit=g.max_burn_rate,
                    )
                )
                self.remove_all()
                raise _Abort(
                    f"guard: {g.target.slo.name} burned at {burn:.3g}x budget, "
                    f"over the allowed {g.max_burn_rate:g}x; every fault was removed"
                )

    def up(self) -> None:
        self.phase(Phase.UP)
        self.ports.traffic.start()
        self.rec.since = self.now()
        self.rec.poll()

    def baseline(self) -> None:
        self.phase(Phase.BASELINE)
        self.rec.poll()
        # A witnessed claim's own SLI may read nothing (that is what it proves): its witness
        # must have data instead.
        signals = [(c.witness or c.target).signal for c in self.plan.claims]
        missing = [s for s in signals if self.rec.latest(s) is None]
        if missing:
            raise _Abort(f"no data before the fault: {missing[0]} returned nothing")
        poll = self.rec.polls[-1] if self.rec.polls else None
        if poll is None:
            raise _Abort("no alert state could be read before the fault")
        for c in self.plan.claims:
            e = c.expectation
            firing = isinstance(e, Fires | Silent | Resolves) and (
                poll.state_of(e.alert, e.severity) is AlertState.FIRING
            )
            if firing:
                raise _Abort(f"{getattr(e, 'alert', '?')} was already firing before the fault")

    def fault(self) -> None:
        # The observed fault window runs from the moment the first fault's apply returned (it
        # is on by then) to the moment the last removal began (it was on until then): applying
        # through the ledger and Toxiproxy takes a few hundred ms the deadlines must not absorb.
        self.phase(Phase.FAULT, self.plan.run_seconds(self.plan.experiment.fault_span))
        start = self.now()
        self.fault_start = self.fault_end = None
        exp = self.plan.experiment
        pending = self._schedule()
        ends = {f.name: self.plan.run_seconds(f.end) for f in exp.faults}
        span = self.plan.run_seconds(exp.fault_span)
        while True:
            elapsed = self.now() - start
            while pending and elapsed >= pending[0][0]:
                _, f = pending.pop(0)
                if f.name in self.applied:  # the next kill of a crash loop
                    self.remove(f.name)
                handle = self.ports.faults.apply(f, exp.time_scale)
                self.applied[f.name] = handle
                if self.fault_start is None:
                    self.fault_start = self.now()
                self.emit(
                    FaultApplied(
                        at=self.now(),
                        experiment=self.name,
                        fault=f.name,
                        kind=f.kind,
                        handle=handle,
                    )
                )
            due = {f.name for _, f in pending}
            for name in [n for n in self.applied if elapsed >= ends[n] and n not in due]:
                self.remove(name)
            if elapsed >= span and not self.applied and not pending:
                break
            self.step(guarded=True)
            # Wake for the next scheduled action, or after one tick, whichever comes first.
            # Every time listed is still to act on: one the poll overran is due now, not
            # skipped (skipping it once held a 125 s pause on for a tick more, 155 s at k=60,
            # and failed one more uptime check).
            wake = min([t for t, _ in pending] + [ends[n] for n in self.applied] + [span])
            self.ports.clock.sleep(min(self.plan.tick, max(start + wake - self.now(), 0.0)))
        self.fault_start = self.fault_start or start
        self.fault_end = self._removing or self.now()

    def _schedule(self) -> list[tuple[float, FaultSpec]]:
        # When each fault goes on, in run seconds from the fault phase's start; a kill with
        # ``times`` > 1 is a crash loop, its kills spread evenly over its duration.
        out: list[tuple[float, FaultSpec]] = []
        for f in self.plan.experiment.faults:
            t0 = self.plan.run_seconds(f.start)
            n = f.times if isinstance(f, KillFault) else 1
            step = self.plan.run_seconds(f.duration) / n
            out += [(t0 + i * step, f) for i in range(n)]
        return sorted(out, key=lambda a: a[0])

    def remove(self, name: str) -> None:
        handle = self.applied.pop(name)
        self._removing = self.now()
        self.ports.faults.remove(handle)
        self.emit(FaultRemoved(at=self.now(), experiment=self.name, fault=name, handle=handle))

    def remove_all(self) -> None:
        # Every fault gets its removal tried, whatever the others do; the port's own
        # remove_all then sweeps its ledger (and raises RollbackFailed if anything stays).
        if self.fault_start is not None and self.fault_end is None:
            self.fault_end = self.now()  # a guard abort mid-fault: the window ends here
        try:
            for name in list(self.applied):
                try:
                    self.remove(name)
                except HarnessError as exc:
                    self.emit(HarnessFailed(at=self.now(), experiment=self.name, message=str(exc)))
        finally:
            self.ports.faults.remove_all()

    def horizon(self) -> float:
        # Observe recovery until the last computed deadline, plus two polls.
        assert self.fault_start is not None and self.fault_end is not None
        obs = self.rec.observations(self.fault_start, self.fault_end)
        p, k = self.plan, float(self.plan.scale)
        longest = max(((c.target.settle + p.delays.pipeline) / k for c in p.claims), default=0.0)
        seen: set[str] = set()
        for c in p.claims:
            m = measure(p, c.target, obs)
            if c.target.sloth_id not in seen:
                seen.add(c.target.sloth_id)
                self.emit(
                    Measured(
                        at=self.now(),
                        experiment=self.name,
                        slo=c.target.slo.name,
                        query=m.query,
                        error_ratio=m.error_ratio,
                        baseline=m.baseline,
                        samples=m.samples,
                    )
                )
            if c.alert is not None and c.alert.query is not None:
                # A query alert resolves once its query forgets the fault: after its window.
                q = c.alert.query
                tail = q.window.seconds + c.alert.for_.seconds + p.delays.pipeline
                longest = max(longest, tail / k + 2 * p.tick)
            elif (
                isinstance(c.expectation, Resolves)
                and c.alert is not None
                and m.error_ratio is not None
            ):
                # Only a `resolves` claim waits for the reset: a budget alert's window is
                # the period (7d at k=60 is 2.8 real hours), and nothing else needs it.
                d = reset_deadline(
                    c.alert,
                    m.error_ratio,
                    (self.fault_end - self.fault_start) * k,
                    scale=p.scale,
                    delays=p.delays,
                    ramp=c.target.ramp,
                    baseline=m.baseline,
                )
                longest = max(longest, d.prometheus)
        return self.fault_end + longest + 2 * p.tick


def run_experiment(plan: Plan, ports: Ports, emit: Emit) -> Status:
    """Run one experiment to its verdicts; return its worst status. Faults never outlive it."""
    rec = _Recorder(plan, ports, emit)
    run = _Run(plan, ports, emit, rec)
    emit(planned(plan, ports.clock.now()))
    verdicts: tuple[Verdict, ...] = ()
    aborted = ""
    interrupted = False
    try:
        run.up()
        run.phase(Phase.WARM_UP, plan.run_seconds(plan.warm_up))
        run.watch(run.now() + plan.run_seconds(plan.warm_up), guarded=True)
        run.baseline()
        run.fault()
        run.phase(Phase.EXPECTATIONS)
        until = run.horizon()
        run.phase(Phase.RECOVERY, max(until - run.now(), 0.0))
        run.watch(until, guarded=True)
        assert run.fault_start is not None and run.fault_end is not None
        verdicts = judge(plan, rec.observations(run.fault_start, run.fault_end))
    except _Abort as exc:
        aborted = str(exc)
    except HarnessError as exc:
        emit(HarnessFailed(at=run.now(), experiment=run.name, message=str(exc)))
        aborted = f"the harness failed: {exc}"
    except BaseException as exc:
        # KeyboardInterrupt or a bug: clean up (finally), record it, and let it propagate.
        interrupted = True
        aborted = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"engine error: {exc!r}"
        raise
    finally:
        _teardown(run)
        if aborted:
            verdicts = inconclusive_all(plan, aborted)
        for v in verdicts:
            emit(VerdictReached(at=run.now(), experiment=run.name, verdict=v))
        status = Status.INCONCLUSIVE if interrupted else worst([v.status for v in verdicts])
        emit(
            ExperimentFinished(
                at=run.now(),
                experiment=run.name,
                status=status,
                fault_start=run.fault_start,
                fault_end=run.fault_end,
                aborted=aborted,
            )
        )
    return status


def _teardown(run: _Run) -> None:
    run.phase(Phase.TEARDOWN)
    try:
        run.remove_all()
    except HarnessError as exc:
        run.emit(HarnessFailed(at=run.now(), experiment=run.name, message=str(exc)))
    finally:
        run.ports.traffic.stop()
