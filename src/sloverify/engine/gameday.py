"""Run a game day: its steps in order, each confirmed (where the plan asks) and guarded.

Like ``run_experiment``, nothing here prints or prompts: announcements and confirmations are
events, the answer comes from ``ask``. A step's stack comes up only after its confirmation, so
a "no" stops the day with nothing applied; a tripped guard stops it too (a real budget is
burning: the next step must not start). Faults never outlive a step (``run_experiment``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sloverify.engine.events import (
    Announced,
    Confirmed,
    Event,
    GuardTripped,
    PhaseStarted,
    StepStarted,
)
from sloverify.engine.ports import Clock, Ports
from sloverify.engine.run import run_experiment
from sloverify.spec.gameday import Moment
from sloverify.verdicts.model import Status, worst
from sloverify.verdicts.plan import Plan


@dataclass(frozen=True)
class GamedayStep:
    """One step as the engine runs it: the plan (at the day's time scale) and what to say."""

    number: int
    plan: Plan
    confirm: str | None = None
    announce: Mapping[Moment, str] | None = None

    @property
    def name(self) -> str:
        """The step's experiment."""
        return self.plan.experiment.name


@dataclass(frozen=True)
class Answer:
    """A confirmation's answer, and who gave it."""

    go: bool
    by: str = "operator"


@dataclass(frozen=True)
class GamedayOutcome:
    """How the day ended: the worst status, and why it stopped early ("" if it did not)."""

    status: Status
    stopped: str = ""


OpenPorts = Callable[[Plan], AbstractContextManager[Ports]]


def run_gameday(
    steps: Sequence[GamedayStep],
    open_ports: OpenPorts,
    emit: Callable[[Event], None],
    ask: Callable[[GamedayStep], Answer],
    clock: Clock,
) -> GamedayOutcome:
    """Run every step in order; stop at a confirmation answered no, or a tripped guard."""
    statuses: list[Status] = []
    for step in steps:
        name, say = step.name, step.announce or {}
        emit(
            StepStarted(
                at=clock.now(),
                experiment=name,
                step=step.number,
                steps=len(steps),
                file=str(step.plan.loaded.path),
            )
        )
        if Moment.START in say:
            emit(Announced(at=clock.now(), experiment=name, moment="start", text=say[Moment.START]))
        if step.confirm:
            answer = ask(step)
            emit(
                Confirmed(
                    at=clock.now(),
                    experiment=name,
                    step=step.number,
                    prompt=step.confirm,
                    answer=answer.go,
                    by=answer.by,
                )
            )
            if not answer.go:
                return GamedayOutcome(
                    Status.INCONCLUSIVE,
                    f"step {step.number} ({name}) was not confirmed: the game day stopped "
                    "before it, with no fault applied",
                )
        status, tripped = _run_step(step, open_ports, emit)
        statuses.append(status)
        if Moment.END in say:
            emit(Announced(at=clock.now(), experiment=name, moment="end", text=say[Moment.END]))
        if tripped is not None:
            g = tripped
            return GamedayOutcome(
                Status.INCONCLUSIVE,
                f"step {step.number} ({name}): the guard tripped ({g.slo} burned at "
                f"{g.burn_rate:.3g}x budget, over {g.limit:g}x); every fault was removed and "
                "the game day stopped",
            )
    return GamedayOutcome(worst(statuses))


def _run_step(
    step: GamedayStep, open_ports: OpenPorts, emit: Callable[[Event], None]
) -> tuple[Status, GuardTripped | None]:
    # The experiment's events pass through, with the step's announcements at their phases.
    say = step.announce or {}
    tripped: list[GuardTripped] = []

    def relay(ev: Event) -> None:
        emit(ev)
        if isinstance(ev, GuardTripped):
            tripped.append(ev)
        elif isinstance(ev, PhaseStarted) and (m := _moment(ev)) and (text := say.get(m)):
            emit(Announced(at=ev.at, experiment=step.name, moment=ev.phase.value, text=text))

    with open_ports(step.plan) as ports:
        status = run_experiment(step.plan, ports, relay)
    return status, (tripped[0] if tripped else None)


def _moment(ev: PhaseStarted) -> Moment | None:
    try:
        return Moment(ev.phase.value)
    except ValueError:
        return None  # up and teardown have no announcement
