"""An experiment resolved against its stack's specs: which alert and SLO each claim is about.

Names that do not resolve are located input errors (exit 2) with a "did you mean", found
before anything starts. The plan also names every query the engine polls.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from sloverify._exceptions import Location, SpecError, SpecErrors
from sloverify.rules.alerts import ResolvedAlert, budget, resolve_alerts
from sloverify.rules.generate import CURRENT_WINDOW, query_alert_expr, sloth_id, window_record
from sloverify.rules.sli import error_ratio, fixed_ranges
from sloverify.spec import SLO, Duration, FieldPath, LoadedSpec
from sloverify.spec.experiment import (
    AlertRef,
    BudgetBelow,
    Expectation,
    Experiment,
    Fires,
    Guard,
    Recovers,
    Resolves,
    Silent,
    SLIReaches,
)
from sloverify.spec.experiment_loader import LoadedExperiment
from sloverify.verdicts.deadlines import Delays


@dataclass(frozen=True)
class SLOTarget:
    """One SLO of the stack, with what the engine samples to measure its error ratio."""

    service: str
    slo: SLO
    sloth_id: str
    budget: float
    alerts: tuple[ResolvedAlert, ...]
    signal_window: Duration  # the shortest window recorded: the fastest measurement
    ramp: float  # the range fixed in a base SLI's query, seconds (theory's ramp; 0 if none)

    @property
    def settle(self) -> float:
        """Seconds (logical) a step fault takes to show fully in the signal."""
        return self.ramp or self.signal_window.seconds

    @property
    def selector(self) -> str:
        """The label selector of this SLO's recorded series."""
        return f'{{sloth_id="{self.sloth_id}"}}'

    def record(self, window: Duration) -> str:
        """The query of this SLO's error ratio over a logical window."""
        return f"max({window_record(window)}{self.selector})"

    @property
    def signal(self) -> str:
        """The query sampled to measure the error ratio: the base series, else the shortest window."""
        if self.ramp:
            return f"max(slo:sli_error:ratio_base{self.selector})"
        return self.record(self.signal_window)


@dataclass(frozen=True)
class Claim:
    """One expectation with the alert and SLO it is about."""

    index: int
    expectation: Expectation
    target: SLOTarget
    alert: ResolvedAlert | None = None
    query: str = ""  # the series it reads, beside the signal
    witness: SLOTarget | None = None  # a silent claim's witness SLO (Silent.witness)

    @property
    def label(self) -> str:
        """A short name: ``fires MaestroApiAvailabilityFastBurn``."""
        e = self.expectation
        if isinstance(e, AlertRef):
            sev = f" ({e.severity})" if e.severity else ""
            return f"{e.expect.value} {e.alert}{sev}"
        if isinstance(e, SLIReaches):
            return f"sli {e.slo} {e.op.value} {e.value:g}"
        if isinstance(e, BudgetBelow):
            return f"budget {e.slo} < {e.percent:g}%"
        return f"recovers {e.slo}"


@dataclass(frozen=True)
class GuardPlan:
    """A stop condition: abort when ``query / budget`` exceeds ``max_burn_rate``."""

    target: SLOTarget
    query: str
    max_burn_rate: float


@dataclass(frozen=True)
class Plan:
    """Everything the engine needs to run one experiment and the verdicts to judge it."""

    loaded: LoadedExperiment
    claims: tuple[Claim, ...]
    guards: tuple[GuardPlan, ...]
    delays: Delays
    warm_up: Duration  # logical

    @property
    def experiment(self) -> Experiment:
        """The experiment itself."""
        return self.loaded.experiment

    @property
    def scale(self) -> Fraction:
        """The time scale k."""
        return self.experiment.time_scale

    @property
    def tick(self) -> float:
        """Run seconds between polls: one rule evaluation (at least 50 ms)."""
        return max(self.delays.evaluation.seconds / float(self.scale), 0.05)

    def run_seconds(self, logical: Duration) -> float:
        """A logical duration in run seconds (divided by the time scale)."""
        return float(logical.ms / 1000 / self.scale)

    def queries(self) -> dict[str, str]:
        """Every query to poll, keyed by itself (keys are what observations store)."""
        exprs = [c.target.signal for c in self.claims] + [c.query for c in self.claims]
        exprs += [c.witness.signal for c in self.claims if c.witness]
        exprs += [g.query for g in self.guards]
        return {q: q for q in dict.fromkeys(exprs) if q}

    def alerts(self) -> tuple[ResolvedAlert, ...]:
        """The alerts any claim is about."""
        return tuple({id(c.alert): c.alert for c in self.claims if c.alert}.values())


def _ramp(slo: SLO) -> float:
    # A base SLI sees a step fault only gradually, over the range fixed in its query.
    ratio = error_ratio(slo.sli)
    if ratio.windowed or ratio.base_expr is None:
        return 0.0
    return max((r.seconds for r in fixed_ranges(ratio.base_expr)), default=0.0)


def _targets(specs: Sequence[LoadedSpec]) -> list[SLOTarget]:
    out = []
    for loaded in specs:
        spec = loaded.spec
        for i, slo in enumerate(spec.slos):
            alerts = resolve_alerts(spec, i)
            windows = [w for a in alerts for c in a.conditions for w in c.windows]
            shortest = min([*windows, CURRENT_WINDOW, slo.period])
            out.append(
                SLOTarget(
                    spec.service,
                    slo,
                    sloth_id(spec, slo),
                    budget(slo),
                    alerts,
                    shortest,
                    _ramp(slo),
                )
            )
    return out


def build_plan(
    loaded: LoadedExperiment, specs: Sequence[LoadedSpec], delays: Delays | None = None
) -> Plan:
    """Resolve every name of the experiment; raise located SpecErrors for those that do not."""
    exp = loaded.experiment
    targets = _targets(specs)
    errors: list[SpecError] = []
    claims: list[Claim] = []
    for i, e in enumerate(exp.expectations):
        path: FieldPath = ("expectations", i)
        try:
            claims.append(_claim(i, e, targets, loaded, path))
        except SpecError as exc:
            errors.append(exc)
    query_alerts = {a.name for t in targets for a in t.alerts if a.query is not None}
    for i, f in enumerate(exp.faults):
        for name in f.simulated:
            if name in query_alerts:  # a free-query alert's own query, apart from its SLO's
                continue
            try:
                _slo(name, targets, loaded.locate, ("faults", i, "simulated", name))
            except SpecError as exc:
                errors.append(exc)
    guards: list[GuardPlan] = []
    try:
        guards += guard_plans(exp.guard, specs, loaded.locate, ("guard",))
    except SpecErrors as exc:
        errors.extend(exc.errors)
    except SpecError as exc:
        errors.append(exc)
    if errors:
        raise SpecErrors.of(errors)
    longest = max(
        (w for c in claims if c.alert for w in c.alert.windows if w < c.target.slo.period),
        default=Duration.parse("5m"),
    )
    return Plan(loaded, tuple(claims), tuple(guards), delays or Delays(), exp.warm_up or longest)


def guard_plans(
    guards: Sequence[Guard],
    specs: Sequence[LoadedSpec],
    locate: Callable[[FieldPath], Location],
    at: FieldPath,
) -> tuple[GuardPlan, ...]:
    """Resolve guards (found at ``at`` in the file ``locate`` points into) against the specs."""
    targets = _targets(specs)
    out: list[GuardPlan] = []
    errors: list[SpecError] = []
    for i, g in enumerate(guards):
        try:
            t = _slo(g.slo, targets, locate, (*at, i, "slo"))
        except SpecError as exc:
            errors.append(exc)
            continue
        out.append(GuardPlan(t, t.record(g.window or t.signal_window), g.max_burn_rate))
    if errors:
        raise SpecErrors.of(errors)
    return tuple(out)


def _claim(
    i: int, e: Expectation, targets: list[SLOTarget], loaded: LoadedExperiment, path: FieldPath
) -> Claim:
    if isinstance(e, Fires | Silent | Resolves):
        target, alert = _alert(e, targets, loaded, (*path, "alert"))
        witness = None
        if isinstance(e, Silent) and e.witness is not None:
            witness = _slo(e.witness, targets, loaded.locate, (*path, "witness"))
        if alert.query is None:
            return Claim(i, e, target, alert, witness=witness)
        # A free-query alert is timed from its own query: the engine polls it.
        scale = loaded.experiment.time_scale
        return Claim(i, e, target, alert, query=query_alert_expr(alert, scale), witness=witness)
    target = _slo(e.slo, targets, loaded.locate, (*path, "slo"))
    if isinstance(e, SLIReaches):
        return Claim(i, e, target, query=target.record(e.window or target.signal_window))
    assert isinstance(e, BudgetBelow | Recovers)
    return Claim(i, e, target)


def _alert(
    ref: AlertRef, targets: list[SLOTarget], loaded: LoadedExperiment, path: FieldPath
) -> tuple[SLOTarget, ResolvedAlert]:
    found = [
        (t, a)
        for t in targets
        for a in t.alerts
        if a.name == ref.alert and (ref.severity is None or a.severity == ref.severity)
    ]
    if len(found) == 1:
        return found[0]
    names = sorted({a.name for t in targets for a in t.alerts})
    if found:
        sevs = sorted({a.severity for _, a in found})
        raise SpecError(
            loaded.locate(path),
            f"{len(found)} alerts are named {ref.alert!r}",
            f"add 'severity:' to say which: one of {sevs}",
        )
    close = difflib.get_close_matches(ref.alert, names, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"the stack's alerts are {names}"
    raise SpecError(loaded.locate(path), f"no alert {ref.alert!r} in the stack's specs", hint)


def _slo(
    name: str,
    targets: list[SLOTarget],
    locate: Callable[[FieldPath], Location],
    path: FieldPath,
) -> SLOTarget:
    found = [t for t in targets if t.slo.name == name or t.sloth_id == name]
    if len(found) == 1:
        return found[0]
    names = sorted(t.slo.name for t in targets)
    if found:
        ids = sorted(t.sloth_id for t in found)
        raise SpecError(locate(path), f"{len(found)} SLOs are named {name!r}", f"use one of {ids}")
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"the stack's SLOs are {names}"
    raise SpecError(locate(path), f"no SLO {name!r} in the stack's specs", hint)
