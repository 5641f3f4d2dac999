"""Verdicts on alerts over a free query (``target: query``): timed from the query itself.

No error ratio predicts when such an alert fires (a restart count, a lag, a p99), so its
deadlines are measured rather than derived: the alert must fire within its ``for`` plus two
rule evaluations of the first poll that shows its query past the threshold, and resolve within
two evaluations of the first poll that shows it back. A fault that never pushes the query past
the threshold fails ``fires``: the experiment cannot prove the alert. Silence proves something
only if the fault moved the query, or, for a query that rests at its floor (a gap count at 0
under a threshold of 0), if the claim's witness SLO measured the fault.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sloverify.rules.alerts import QueryCondition
from sloverify.spec import Op
from sloverify.spec.experiment import Fires, Resolves, Silent
from sloverify.verdicts.model import AlertState, Observations, Point, Status, Verdict
from sloverify.verdicts.plan import Claim, Plan
from sloverify.verdicts.polls import (
    Values,
    first,
    last_other,
    notifications_firing,
    notified,
    since,
    verdict,
)


@dataclass(frozen=True)
class Witnessed:
    """A silent claim's witness SLO as measured during the fault (and just before it)."""

    slo: str
    query: str
    error_ratio: float | None
    baseline: float


def judge_query_alert(
    plan: Plan, claim: Claim, obs: Observations, witness: Witnessed | None = None
) -> Verdict:
    """The verdict on a fires/silent/resolves claim about a free-query alert."""
    assert claim.alert is not None and claim.alert.query is not None
    cond = claim.alert.query
    queries = (claim.query,)
    values: Values = {"threshold": cond.value, "time_scale": float(plan.scale)}
    if not obs.polls:
        return verdict(claim, Status.INCONCLUSIVE, "no alert state was ever read", queries)
    # The fault and its recovery: a histogram observed when the work ends (a run's
    # completion, a signal's processing) shows a stall only once the stalled work is done,
    # after the fault; the deadline still counts from the poll that sees the query cross.
    during = obs.points(claim.query, obs.fault_start, obs.until)
    if not during:
        why = f"{claim.query} returned no data during the fault: nothing to time the alert from"
        return verdict(claim, Status.INCONCLUSIVE, why, queries, values, obs)
    peak = _extreme(cond, during)
    values |= {"query_peak": peak.value, "query_peak_after": peak.at - obs.fault_start}
    e = claim.expectation
    if isinstance(e, Silent):
        return _silent(claim, cond, obs, peak, values, witness)
    crossed = next((p for p in during if cond.op.holds(p.value, cond.value)), None)
    values["query_crossed_after"] = since(crossed.at if crossed else None, obs.fault_start)
    if isinstance(e, Fires):
        return _fires(plan, claim, e, cond, obs, crossed, values)
    assert isinstance(e, Resolves)
    return _resolves(plan, claim, cond, obs, values)


def _extreme(cond: QueryCondition, points: tuple[Point, ...]) -> Point:
    # The point nearest to (or furthest past) the threshold, in the direction that fires.
    if cond.op in (Op.GT, Op.GE):
        return max(points, key=lambda p: p.value)
    return min(points, key=lambda p: p.value)


def _evaluations(plan: Plan) -> float:
    # Two rule evaluations: the one that first sees the poll's data, and a late one.
    return 2 * plan.delays.evaluation.seconds / float(plan.scale)


def _fires(
    plan: Plan,
    claim: Claim,
    e: Fires,
    cond: QueryCondition,
    obs: Observations,
    crossed: Point | None,
    values: Values,
) -> Verdict:
    assert claim.alert is not None
    queries = (claim.query,)
    fired = first(obs, claim, AlertState.FIRING, obs.fault_start)
    if crossed is None and fired is None:
        why = (
            f"the query peaked at {values['query_peak']:.4g} and never went {cond.op.value} "
            f"{cond.value:g} during the fault or its recovery: it cannot fire; inject a stronger "
            "or longer fault"
        )
        return verdict(claim, Status.FAIL, why, queries, values, obs)
    k = float(plan.scale)
    # Fired without a poll seeing the crossing: it happened between two polls, before the fire.
    crossed_at = crossed.at if crossed is not None else obs.fault_start
    deadline = crossed_at - obs.fault_start + claim.alert.for_.seconds / k + _evaluations(plan)
    receiver = e.receiver or claim.alert.severity
    to_receiver = deadline + plan.delays.to_receiver(k)
    noted = notified(obs, claim, receiver, obs.fault_start)
    if fired is None and noted is not None and noted - obs.fault_start <= to_receiver:
        # Fired and resolved between two polls (a count over a 1 s window at k=60, dvt's
        # gaps over 1m): the receiver's notification in time proves it fired in time.
        values["fired_between_polls"] = 1.0
        fired = noted
    quiet = last_other(obs, claim, AlertState.FIRING, obs.fault_start, fired)
    if "fired_between_polls" in values:
        quiet = None  # polls that missed a blip prove nothing late
    values |= {
        "deadline_prometheus": deadline,
        "deadline_receiver": to_receiver,
        "fired_after": since(fired, obs.fault_start),
        "notified_after": since(noted, obs.fault_start),
        "last_quiet_poll_after": since(quiet, obs.fault_start),
    }
    late = quiet is not None and quiet - obs.fault_start > deadline
    if fired is None or late:
        seen = "never fired" if fired is None else f"fired after {fired - obs.fault_start:.2f}s"
        why = (
            f"{seen}; its query went {cond.op.value} {cond.value:g} after "
            f"{crossed_at - obs.fault_start:.2f}s, so the deadline was {deadline:.2f}s"
        )
        status = (
            Status.FAIL if late or obs.until - obs.fault_start > deadline else Status.INCONCLUSIVE
        )
        return verdict(claim, status, why, queries, values, obs)
    if e.at_receiver and (noted is None or noted - obs.fault_start > to_receiver):
        got = "no notification" if noted is None else f"it after {noted - obs.fault_start:.2f}s"
        why = (
            f"fired at Prometheus, but receiver {receiver!r} got {got}; deadline {to_receiver:.2f}s"
        )
        return verdict(claim, Status.FAIL, why, queries, values, obs)
    why = (
        f"fired after {fired - obs.fault_start:.2f}s (deadline {deadline:.2f}s: the query "
        f"crossed {cond.value:g} after {crossed_at - obs.fault_start:.2f}s)"
    )
    if e.at_receiver and noted is not None:
        why += f", {receiver!r} notified after {noted - obs.fault_start:.2f}s"
    return verdict(claim, Status.PASS, why, queries, values, obs)


def _silent(
    claim: Claim,
    cond: QueryCondition,
    obs: Observations,
    peak: Point,
    values: Values,
    witness: Witnessed | None,
) -> Verdict:
    queries = (claim.query,)
    fired = first(obs, claim, AlertState.FIRING, obs.fault_start)
    if fired is not None:
        why = f"fired {fired - obs.fault_start:.2f}s after the fault started"
        return verdict(claim, Status.FAIL, why, queries, values, obs)
    noted = notifications_firing(obs, claim, obs.fault_start)
    if noted:
        why = f"receiver {noted[0].receiver!r} was notified; Prometheus never showed it firing"
        return verdict(claim, Status.FAIL, why, queries, values, obs)
    before = tuple(
        p for p in obs.points(claim.query, -math.inf, obs.fault_start) if p.at < obs.fault_start
    )
    rest = _extreme(cond, before).value if before else None
    values["query_before_fault"] = rest
    moved = rest is None or (peak.value > rest if cond.op in (Op.GT, Op.GE) else peak.value < rest)
    polls = len([p for p in obs.polls if p.at >= obs.fault_start])
    why = (
        f"silent in {polls} polls over {obs.until - obs.fault_start:.2f}s; its query peaked at "
        f"{peak.value:.4g} (threshold {cond.op.value} {cond.value:g})"
    )
    if witness is not None:
        return _witnessed(claim, obs, values, why, witness)
    if not moved:
        why += f", no further than before the fault ({rest:.4g}): silence proves nothing"
        return verdict(claim, Status.INCONCLUSIVE, why, queries, values, obs)
    return verdict(claim, Status.PASS, why, queries, values, obs)


def _witnessed(claim: Claim, obs: Observations, values: Values, why: str, w: Witnessed) -> Verdict:
    # A query at its floor the whole time (no gap ever counted) cannot show it was exposed to
    # the fault; the witness, an SLO the same fault must move, shows the fault was there.
    values |= {"witness_error_ratio": w.error_ratio, "witness_baseline": w.baseline}
    queries = (claim.query, w.query)
    if w.error_ratio is None or w.error_ratio <= w.baseline:
        moved = "no data" if w.error_ratio is None else f"{w.error_ratio:.4g}, not above baseline"
        why += f", but its witness {w.slo} measured {moved}: silence proves nothing"
        return verdict(claim, Status.INCONCLUSIVE, why, queries, values, obs)
    why += f", while its witness {w.slo} measured e={w.error_ratio:.4g}"
    return verdict(claim, Status.PASS, why, queries, values, obs)


def _resolves(
    plan: Plan, claim: Claim, cond: QueryCondition, obs: Observations, values: Values
) -> Verdict:
    queries = (claim.query,)
    fired = first(obs, claim, AlertState.FIRING, obs.fault_start)
    if fired is None:
        return verdict(claim, Status.INCONCLUSIVE, "never fired, so nothing resolved", queries)
    after = obs.points(claim.query, obs.fault_end, obs.until)
    cleared = next((p for p in after if not cond.op.holds(p.value, cond.value)), None)
    if cleared is None:
        last = f"{after[-1].value:.4g}" if after else "no data"
        why = (
            f"its query never went back past {cond.value:g} after the fault (last: {last}); "
            f"it forgets the fault only after its {cond.window} window"
        )
        return verdict(
            claim, Status.FAIL if after else Status.INCONCLUSIVE, why, queries, values, obs
        )
    deadline = cleared.at - obs.fault_end + _evaluations(plan)
    gone = first(obs, claim, None, max(fired, obs.fault_end))
    active = last_other(obs, claim, None, obs.fault_end, gone)
    values |= {
        "query_cleared_after": cleared.at - obs.fault_end,
        "deadline_reset": deadline,
        "resolved_after": since(gone, obs.fault_end),
        "last_active_poll_after": since(active, obs.fault_end),
    }
    late = active is not None and active - obs.fault_end > deadline
    if gone is None or late:
        seen = "still active" if gone is None else f"resolved after {gone - obs.fault_end:.2f}s"
        why = f"{seen}; its query cleared after {cleared.at - obs.fault_end:.2f}s, deadline {deadline:.2f}s"
        return verdict(claim, Status.FAIL, why, queries, values, obs)
    why = (
        f"resolved {gone - obs.fault_end:.2f}s after the fault (deadline {deadline:.2f}s: the "
        f"query cleared after {cleared.at - obs.fault_end:.2f}s)"
    )
    return verdict(claim, Status.PASS, why, queries, values, obs)
