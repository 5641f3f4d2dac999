"""The plan as an event: what reports need to explain an experiment without the spec."""

from __future__ import annotations

from sloverify.engine.events import (
    AlertContext,
    ClaimContext,
    ConditionContext,
    ExperimentPlanned,
)
from sloverify.spec.experiment import AlertRef
from sloverify.verdicts.plan import Plan


def planned(plan: Plan, at: float) -> ExperimentPlanned:
    """The ExperimentPlanned event of a plan."""
    exp = plan.experiment
    claims = tuple(
        ClaimContext(
            index=c.index,
            label=c.label,
            expect=c.expectation.expect.value,
            alert=c.alert.name if c.alert else None,
            severity=c.expectation.severity if isinstance(c.expectation, AlertRef) else None,
            slo=c.target.slo.name,
        )
        for c in plan.claims
    )
    alerts: dict[tuple[str, str], AlertContext] = {}
    for c in plan.claims:
        if c.alert is None:
            continue
        a, t = c.alert, c.target
        alerts[(a.name, a.severity)] = AlertContext(
            name=a.name,
            severity=a.severity,
            slo=t.slo.name,
            objective=t.slo.objective,
            budget=t.budget,
            for_seconds=a.for_.seconds,
            conditions=tuple(
                ConditionContext(
                    windows=tuple(str(w) for w in cond.windows),
                    op=cond.op.value,
                    threshold=cond.threshold,
                    factor=cond.factor,
                )
                for cond in a.conditions
            ),
        )
    return ExperimentPlanned(
        at=at,
        experiment=exp.name,
        stack=exp.stack,
        file=str(plan.loaded.path),
        scale=str(exp.time_scale),
        tick=plan.tick,
        warm_up=plan.run_seconds(plan.warm_up),
        fault_span=plan.run_seconds(exp.fault_span),
        claims=claims,
        alerts=tuple(alerts.values()),
        signals={c.target.slo.name: c.target.signal for c in plan.claims},
        budgets={c.target.slo.name: c.target.budget for c in plan.claims},
    )
