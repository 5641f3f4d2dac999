"""Judge an experiment's observations against its plan: one verdict per expectation.

A violated claim is a failed verdict, never an exception. Missing data (no samples, no alert
polls) is inconclusive, never a pass. Deadlines come from :mod:`sloverify.verdicts.deadlines`
with the error ratio measured during the fault; a poll can only see a change one poll late,
so a deadline is missed only when a poll after it still shows the old state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sloverify.rules.theory import Fault, peak_share
from sloverify.spec.experiment import (
    BudgetBelow,
    Fires,
    Recovers,
    Resolves,
    Silent,
    SLIReaches,
)
from sloverify.verdicts.deadlines import FireDeadline, fire_deadline, reset_deadline
from sloverify.verdicts.measured import Measured, measure
from sloverify.verdicts.model import AlertState, Observations, Status, Verdict
from sloverify.verdicts.plan import Claim, Plan, SLOTarget
from sloverify.verdicts.polls import (
    first,
    last_other,
    notifications_firing,
    notified,
    since,
    verdict,
)
from sloverify.verdicts.query_alerts import Witnessed, judge_query_alert


def judge(plan: Plan, obs: Observations) -> tuple[Verdict, ...]:
    """Every expectation's verdict."""
    return tuple(_one(plan, c, obs) for c in plan.claims)


def inconclusive_all(plan: Plan, reason: str) -> tuple[Verdict, ...]:
    """Every expectation inconclusive for one reason (an abort, a harness failure)."""
    return tuple(
        Verdict(index=c.index, label=c.label, status=Status.INCONCLUSIVE, reason=reason)
        for c in plan.claims
    )


@dataclass
class _Case:
    """One claim being judged: its plan, observations, the fault's measurement and evidence."""

    plan: Plan
    claim: Claim
    obs: Observations
    m: Measured
    values: dict[str, float | None]
    queries: tuple[str, ...]

    @property
    def fault_s(self) -> float:
        """The fault's length in logical seconds."""
        return (self.obs.fault_end - self.obs.fault_start) * float(self.plan.scale)

    def verdict(self, status: Status, why: str) -> Verdict:
        """The verdict with everything gathered so far as its evidence."""
        return verdict(self.claim, status, why, self.queries, self.values, self.obs)


def _one(plan: Plan, claim: Claim, obs: Observations) -> Verdict:
    e = claim.expectation
    if claim.alert is not None and claim.alert.query is not None:
        assert isinstance(e, Fires | Silent | Resolves)
        seen = None
        if (w := claim.witness) is not None:
            mw = measure(plan, w, obs)
            seen = Witnessed(w.slo.name, mw.query, mw.error_ratio, mw.baseline)
        return judge_query_alert(plan, claim, obs, seen)
    m = measure(plan, claim.target, obs)
    values: dict[str, float | None] = {
        "measured_error_ratio": m.error_ratio,
        "baseline_error_ratio": m.baseline,
        "measured_samples": float(m.samples),
        "measured_error_low": m.low,
        "measured_error_high": m.high,
        "budget": claim.target.budget,
        "time_scale": float(plan.scale),
    }
    case = _Case(plan, claim, obs, m, values, (m.query,))
    if isinstance(e, Fires | Silent | Resolves) and not obs.polls:
        return case.verdict(Status.INCONCLUSIVE, "no alert state was ever read")
    if isinstance(e, Silent):
        return _silent(case)
    if m.error_ratio is None:
        why = (
            f"no samples of {m.query} between {m.start - obs.fault_start:.2f}s and "
            f"{m.end - obs.fault_start:.2f}s into the fault: no measured error ratio "
            "(make the fault longer than the SLI's window, or check the query returns data)"
        )
        return case.verdict(Status.INCONCLUSIVE, why)
    if isinstance(e, Fires):
        return _fires(case, e, m.error_ratio)
    if isinstance(e, Resolves):
        return _resolves(case, m.error_ratio)
    if isinstance(e, SLIReaches):
        return _sli(case, e)
    if isinstance(e, BudgetBelow):
        return _budget(case, e, m.error_ratio)
    assert isinstance(e, Recovers)
    return _recovers(case, e)


def _deadline(case: _Case, error_ratio: float) -> tuple[FireDeadline, float]:
    """The fire deadline at ``error_ratio``, with the ramp it assumed (logical seconds)."""
    plan, claim, m = case.plan, case.claim, case.m
    assert claim.alert is not None
    alert = claim.alert

    def at(ramp: float) -> FireDeadline:
        return fire_deadline(
            alert,
            error_ratio,
            case.fault_s,
            scale=plan.scale,
            delays=plan.delays,
            ramp=ramp,
            baseline=m.baseline,
        )

    ramp = claim.target.ramp
    d = at(ramp)
    if m.rise > ramp and d.prometheus is not None:
        # The SLI rose slower than its range: the deadline follows the rise it showed (if
        # the theory still lets the alert fire within the fault at that ramp).
        slow = at(m.rise)
        if slow.prometheus is not None:
            d, ramp = slow, m.rise
    if d.prometheus is not None and d.receiver is not None and m.onset > 0:
        d = replace(d, prometheus=d.prometheus + m.onset, receiver=d.receiver + m.onset)
    return d, ramp


def _fault_end(case: _Case) -> FireDeadline:
    """The latest deadline there is: the fault's end, through the pipeline."""
    d = FireDeadline.after(case.fault_s, scale=case.plan.scale, delays=case.plan.delays)
    assert d.prometheus is not None and d.receiver is not None
    return replace(d, prometheus=d.prometheus + case.m.onset, receiver=d.receiver + case.m.onset)


def _fires(case: _Case, e: Fires, error_ratio: float) -> Verdict:
    claim, obs, m = case.claim, case.obs, case.m
    assert claim.alert is not None and m.low is not None and m.high is not None
    # Judged at the low end of the measurement's error bar: the latest the alert may fire.
    d, ramp = _deadline(case, m.low)
    uncertain = d.prometheus is None
    if uncertain:
        top, _ = _deadline(case, m.high)
        if top.prometheus is None:
            case.values["theory_fires_after"] = top.theory
            when = "never" if top.theory is None else f"only after {top.theory:.0f}s (logical)"
            why = (
                f"at the measured error ratio {error_ratio:.4g} (at most {m.high:.4g} within "
                f"its error) the alert fires {when}, but the fault lasts {case.fault_s:.0f}s "
                "(logical): it cannot fire; inject a stronger or longer fault"
            )
            return case.verdict(Status.FAIL, why)
        # Within the error bar the alert may or may not fire before the fault ends.
        d = _fault_end(case)
    if ramp != claim.target.ramp:
        case.values["measured_ramp"] = ramp
    fired = first(obs, claim, AlertState.FIRING, obs.fault_start)
    quiet = last_other(obs, claim, AlertState.FIRING, obs.fault_start, fired)
    receiver = e.receiver or claim.alert.severity
    noted = notified(obs, claim, receiver, obs.fault_start)
    case.values |= {
        "fault_onset": m.onset,
        "theory_fires_after": d.theory,
        "deadline_prometheus": d.prometheus,
        "deadline_receiver": d.receiver,
        "fired_after": since(fired, obs.fault_start),
        "notified_after": since(noted, obs.fault_start),
        "last_quiet_poll_after": since(quiet, obs.fault_start),
    }
    assert d.prometheus is not None and d.receiver is not None
    late = quiet is not None and quiet - obs.fault_start > d.prometheus
    if fired is None or late:
        seen = "never fired" if fired is None else f"fired after {fired - obs.fault_start:.2f}s"
        if uncertain:
            why = (
                f"{seen} by the fault's end ({d.prometheus:.2f}s); at e={m.low:.4g}, the low end "
                f"of the measured {error_ratio:.4g}'s error bar, it need not fire within the "
                "fault, so this proves nothing: inject a stronger or longer fault"
            )
            return case.verdict(Status.INCONCLUSIVE, why)
        why = f"{seen}; the deadline at e={m.low:.4g} was {d.prometheus:.2f}s"
        if late and quiet is not None:
            why += f", and a poll {quiet - obs.fault_start:.2f}s in still showed it quiet"
            return case.verdict(Status.FAIL, why)
        return case.verdict(Status.INCONCLUSIVE, why + "; not observed past it")
    if e.at_receiver and (noted is None or noted - obs.fault_start > d.receiver):
        seen = (
            "no notification" if noted is None else f"notified after {noted - obs.fault_start:.2f}s"
        )
        why = (
            f"fired at Prometheus, but receiver {receiver!r} got {seen}; deadline {d.receiver:.2f}s"
        )
        return case.verdict(Status.FAIL, why)
    why = f"fired after {fired - obs.fault_start:.2f}s (deadline {d.prometheus:.2f}s)"
    if m.onset > 0:
        why += f", the first errors {m.onset:.2f}s late"
    if e.at_receiver and noted is not None:
        why += f", {receiver!r} notified after {noted - obs.fault_start:.2f}s (deadline {d.receiver:.2f}s)"
    return case.verdict(Status.PASS, why)


def _silent(case: _Case) -> Verdict:
    claim, obs, m = case.claim, case.obs, case.m
    assert claim.alert is not None
    fired = first(obs, claim, AlertState.FIRING, obs.fault_start)
    noted = notifications_firing(obs, claim, obs.fault_start)
    if fired is not None:
        return case.verdict(
            Status.FAIL, f"fired {fired - obs.fault_start:.2f}s after the fault started"
        )
    if noted:
        why = f"receiver {noted[0].receiver!r} was notified; Prometheus never showed it firing"
        return case.verdict(Status.FAIL, why)
    polls = [p for p in obs.polls if p.at >= obs.fault_start]
    if not polls:
        return case.verdict(Status.INCONCLUSIVE, "no alert state read after the fault began")
    why = f"silent in {len(polls)} polls over {obs.until - obs.fault_start:.2f}s"
    if claim.witness is not None:
        return _witnessed(case, claim.witness, why)
    if claim.alert.conditions:
        # Silence proves something only if the fault moved the SLI: a fault that caused no
        # errors would keep any alert silent, right or wrong.
        if m.error_ratio is None or m.error_ratio <= (m.baseline or 0.0):
            moved = (
                "no measured error ratio"
                if m.error_ratio is None
                else (f"the measured error ratio {m.error_ratio:.4g} is not above the baseline")
            )
            return case.verdict(
                Status.INCONCLUSIVE,
                f"{why}, but {moved}: the fault did not move the SLI, so silence proves nothing"
                + ("" if m.error_ratio is not None else " (an SLI with no data: name a witness)"),
            )
        # How near the fault came, by the theory at the measured ratio: a window the fault
        # fills shows e / threshold, a 30d budget window the budget consumed / its threshold.
        share = peak_share(claim.alert, _own(m.error_ratio, case.fault_s), claim.target.ramp)
        assert m.high is not None  # measured, as error_ratio is
        top = peak_share(claim.alert, _own(m.high, case.fault_s), claim.target.ramp)
        case.values |= {"share_of_threshold": share, "share_of_threshold_high": top}
        if share is not None:
            why += f", its windows peaking at {share:.2f}x its threshold"
            if top is not None and top > share:
                why += f" ({top:.2f}x at the top of the measured ratio's error bar)"
    return case.verdict(Status.PASS, why)


def _own(error_ratio: float, fault_s: float) -> Fault:
    # The fault as the windows saw it, on a baseline of 0: the measured ratio already holds
    # the baseline's errors for the windows the fault fills, and what the long windows hold
    # before the fault is the backfilled history, healthy by construction. Extending the few
    # seconds before the fault across a 30d window instead (once, 20% slow requests right
    # after Prometheus restarted on its history) put a silent budget alert at 588x.
    return Fault(min(error_ratio, 1.0), fault_s)


def _witnessed(case: _Case, witness: SLOTarget, why: str) -> Verdict:
    # Silence of an alert whose own SLI may be blind (lint SLO006) proves something only if
    # another SLO, the witness, saw the fault: then the alert stayed silent through errors it
    # was written to see, and how far past its threshold they would have put it is evidence.
    claim, m = case.claim, case.m
    assert claim.alert is not None
    w = measure(case.plan, witness, case.obs)
    own = "no data" if m.error_ratio is None else f"{m.error_ratio:.4g}"
    case.values |= {
        "witness_error_ratio": w.error_ratio,
        "witness_baseline": w.baseline,
        "witness_samples": float(w.samples),
    }
    case.queries = (m.query, w.query)
    if w.error_ratio is None or w.error_ratio <= w.baseline:
        moved = "no data" if w.error_ratio is None else f"{w.error_ratio:.4g}, not above baseline"
        why += f", but its witness {witness.slo.name} measured {moved}: silence proves nothing"
        return case.verdict(Status.INCONCLUSIVE, why)
    share = peak_share(claim.alert, _own(w.error_ratio, case.fault_s), claim.target.ramp)
    case.values["witness_share_of_threshold"] = share
    why += (
        f" while its witness {witness.slo.name} measured e={w.error_ratio:.4g} (its own SLI: {own})"
    )
    if share is not None:
        why += f", which would have put its windows at {share:.2f}x its threshold"
    return case.verdict(Status.PASS, why)


def _resolves(case: _Case, error_ratio: float) -> Verdict:
    plan, claim, obs = case.plan, case.claim, case.obs
    assert claim.alert is not None
    # The reset comes later the higher the ratio was: judged at the top of its error bar.
    d = reset_deadline(
        claim.alert,
        error_ratio if case.m.high is None else case.m.high,
        case.fault_s,
        scale=plan.scale,
        delays=plan.delays,
        ramp=claim.target.ramp,
        baseline=case.m.baseline,
    )
    fired = first(obs, claim, AlertState.FIRING, obs.fault_start)
    gone = first(obs, claim, None, obs.fault_end) if fired is not None else None
    active = last_other(obs, claim, None, obs.fault_end, gone)
    case.values |= {
        "theory_resets_after": d.theory,
        "deadline_reset": d.prometheus,
        "resolved_after": since(gone, obs.fault_end),
        "last_active_poll_after": since(active, obs.fault_end),
    }
    if fired is None:
        return case.verdict(Status.INCONCLUSIVE, "never fired, so nothing resolved")
    late = active is not None and active - obs.fault_end > d.prometheus
    if gone is None or late:
        seen = "still active" if gone is None else f"resolved after {gone - obs.fault_end:.2f}s"
        why = f"{seen} after the fault; the reset deadline was {d.prometheus:.2f}s"
        if not late:
            return case.verdict(Status.INCONCLUSIVE, why + ", not observed past it")
        return case.verdict(Status.FAIL, why)
    why = f"resolved {gone - obs.fault_end:.2f}s after the fault (deadline {d.prometheus:.2f}s)"
    return case.verdict(Status.PASS, why)


def _sli(case: _Case, e: SLIReaches) -> Verdict:
    claim, obs = case.claim, case.obs
    case.queries = (claim.query,)
    points = obs.points(claim.query, obs.fault_start, obs.fault_end)
    if not points:
        return case.verdict(Status.INCONCLUSIVE, f"{claim.query} returned no data during the fault")
    best = (
        max(points, key=lambda p: p.value)
        if e.op.value[0] == ">"
        else min(points, key=lambda p: p.value)
    )
    case.values |= {"extreme": best.value, "extreme_after": best.at - obs.fault_start}
    ok = e.op.holds(best.value, e.value)
    why = f"error ratio reached {best.value:.4g} ({'' if ok else 'not '}{e.op.value} {e.value:g})"
    return case.verdict(Status.PASS if ok else Status.FAIL, why)


def _budget(case: _Case, e: BudgetBelow, error_ratio: float) -> Verdict:
    slo = case.claim.target.slo
    seconds = case.plan.experiment.fault_span.seconds
    spent = error_ratio * seconds / (case.claim.target.budget * slo.period.seconds)
    case.values |= {"budget_consumed_percent": 100 * spent, "fault_seconds": seconds}
    ok = 100 * spent < e.percent
    why = (
        f"{100 * spent:.3g}% of the {slo.period} budget consumed "
        f"(e={error_ratio:.4g} for {seconds:.0f}s); bound {e.percent:g}%"
    )
    return case.verdict(Status.PASS if ok else Status.FAIL, why)


def _recovers(case: _Case, e: Recovers) -> Verdict:
    target, obs = case.claim.target, case.obs
    limit = e.value if e.value is not None else target.budget
    deadline = (target.settle + case.plan.delays.pipeline) / float(case.plan.scale) + case.plan.tick
    after = obs.points(target.signal, obs.fault_end, obs.fault_end + deadline)
    case.values |= {"recovery_limit": limit, "deadline_recovery": deadline}
    if not after:
        return case.verdict(
            Status.INCONCLUSIVE, f"{target.signal} returned no data after the fault"
        )
    ok = next((p for p in after if p.value <= limit), None)
    if ok is None:
        why = f"error ratio still {after[-1].value:.4g} > {limit:g} at {deadline:.2f}s after the fault"
        return case.verdict(Status.FAIL, why)
    case.values["recovered_after"] = ok.at - obs.fault_end
    why = f"error ratio {ok.value:.4g} <= {limit:g} {ok.at - obs.fault_end:.2f}s after the fault"
    return case.verdict(Status.PASS, why)
