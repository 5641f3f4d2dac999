"""Reading alert polls and notifications, and building verdicts with their evidence.

Shared by the verdicts on SLO alerts (``judge``) and on free-query alerts (``query_alerts``).
A poll can only see a change one poll late, so a deadline is missed only when a poll after it
still shows the old state: hence ``last_other`` beside ``first``.
"""

from __future__ import annotations

from sloverify.verdicts.model import (
    AlertState,
    Evidence,
    Notification,
    NotificationStatus,
    Observations,
    StateChange,
    Status,
    Verdict,
)
from sloverify.verdicts.plan import Claim

Values = dict[str, float | None]


def timeline(obs: Observations, name: str, severity: str | None) -> tuple[StateChange, ...]:
    """The alert's state changes over the polls (the first poll always counts as a change)."""
    out: list[StateChange] = []
    for poll in obs.polls:
        state = poll.state_of(name, severity)
        if not out or out[-1].state != state:
            out.append(StateChange(at=poll.at, state=state))
    return tuple(out)


def verdict(
    claim: Claim,
    status: Status,
    reason: str,
    queries: tuple[str, ...] = (),
    values: Values | None = None,
    obs: Observations | None = None,
) -> Verdict:
    """The verdict on ``claim`` with its evidence (the alert's timeline when ``obs`` is given)."""
    tl: tuple[StateChange, ...] = ()
    notes: tuple[Notification, ...] = ()
    if claim.alert is not None and obs is not None:
        tl = timeline(obs, claim.alert.name, severity_of(claim))
        notes = tuple(n for n in obs.notifications if n.alert == claim.alert.name)
    ev = Evidence(queries=queries, values=values or {}, timeline=tl, notifications=notes)
    return Verdict(index=claim.index, label=claim.label, status=status, reason=reason, evidence=ev)


def severity_of(claim: Claim) -> str | None:
    """The severity an alert expectation names (None: any)."""
    return getattr(claim.expectation, "severity", None)


def first(obs: Observations, claim: Claim, state: AlertState | None, after: float) -> float | None:
    """The first poll at or after ``after`` that shows the claim's alert in ``state``."""
    assert claim.alert is not None
    sev = severity_of(claim)
    for poll in obs.polls:
        if poll.at >= after and poll.state_of(claim.alert.name, sev) == state:
            return poll.at
    return None


def last_other(
    obs: Observations, claim: Claim, state: AlertState | None, after: float, before: float | None
) -> float | None:
    """The last poll in ``[after, before)`` whose state is not ``state``.

    The change can have happened any time between it and the next poll.
    """
    assert claim.alert is not None
    sev = severity_of(claim)
    times = [
        p.at
        for p in obs.polls
        if after <= p.at
        and (before is None or p.at < before)
        and p.state_of(claim.alert.name, sev) != state
    ]
    return max(times, default=None)


def notified(obs: Observations, claim: Claim, receiver: str, after: float) -> float | None:
    """When ``receiver`` first got the claim's alert firing, at or after ``after``."""
    assert claim.alert is not None
    return next(
        (
            n.at
            for n in obs.notifications
            if n.alert == claim.alert.name
            and n.receiver == receiver
            and n.status is NotificationStatus.FIRING
            and n.at >= after
        ),
        None,
    )


def notifications_firing(obs: Observations, claim: Claim, after: float) -> list[Notification]:
    """Every firing notification of the claim's alert, to any receiver, at or after ``after``."""
    assert claim.alert is not None
    return [
        n
        for n in obs.notifications
        if n.alert == claim.alert.name and n.status is NotificationStatus.FIRING and n.at >= after
    ]


def since(t: float | None, start: float) -> float | None:
    """``t - start``, or None when ``t`` is."""
    return None if t is None else t - start
