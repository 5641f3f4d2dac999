"""A game-day plan (``kind: gameday``): experiments run one after another, for people.

Each step is an experiment (a file, relative to the plan, or written inline) with an optional
confirmation asked before it and announcements at its moments. The plan's time scale replaces
every experiment's (1 is real time), and its guard is armed for every step; a step that ends up
without any guard is an error, since game days run against environments others use.
Errors are located like every other sloverify file (file, line, field, hint).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from sloverify._exceptions import Location, SpecError, SpecErrors
from sloverify.spec.base import Frozen
from sloverify.spec.experiment import Guard, parse_time_scale
from sloverify.spec.experiment_loader import (
    _FIELDS as _EXPERIMENT_FIELDS,
)
from sloverify.spec.experiment_loader import (
    LoadedExperiment,
    _relevant,
    _translate,
    load_experiment,
    load_experiment_data,
)
from sloverify.spec.loader import (
    FieldPath,
    _dotted,
    _nearest_line,
    parse_mapping,
    read_text,
)

_NAME = r"^[a-z0-9][a-z0-9_.-]*$"
_HELP = "see chaos/README.md, section 'Game days', for the plan format"


class Moment(StrEnum):
    """When a step's announcement is shown: the step's start, a phase's start, or its end."""

    START = "start"
    WARM_UP = "warm-up"
    BASELINE = "baseline"
    FAULT = "fault"
    EXPECTATIONS = "expectations"
    RECOVERY = "recovery"
    END = "end"


class Step(Frozen):
    """One step's own fields (its experiment is read by the loader: a file or inline)."""

    confirm: str | None = Field(default=None, min_length=1)
    announce: dict[Moment, str] = Field(default_factory=dict)
    guard: tuple[Guard, ...] = ()

    @field_validator("announce", mode="before")
    @classmethod
    def _plain_text(cls, v: object) -> object:
        # A bare string is the step's opening announcement.
        return {Moment.START.value: v} if isinstance(v, str) else v


class Gameday(Frozen):
    """The plan: a name, the time scale of every step, the guard, and the steps."""

    version: Literal["sloverify/v1"]
    kind: Literal["gameday"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    time_scale: Fraction = Fraction(1)
    guard: tuple[Guard, ...] = ()
    steps: tuple[Step, ...] = Field(min_length=1)

    @field_validator("time_scale", mode="before")
    @classmethod
    def _scale(cls, v: object) -> Fraction:
        return parse_time_scale(v)


_FIELDS = sorted(
    {"experiment", *_EXPERIMENT_FIELDS}
    | {f.alias or n for m in (Gameday, Step) for n, f in m.model_fields.items()}
)


@dataclass(frozen=True)
class LoadedStep:
    """A step with its experiment, already at the plan's time scale."""

    number: int  # 1-based
    step: Step
    experiment: LoadedExperiment

    @property
    def path(self) -> FieldPath:
        """The step's field path in the plan."""
        return ("steps", self.number - 1)


@dataclass(frozen=True)
class LoadedGameday:
    """A validated plan with its file, the line of every field, and its loaded steps."""

    gameday: Gameday
    path: Path
    lines: Mapping[FieldPath, int] = field(repr=False)
    steps: tuple[LoadedStep, ...] = ()

    def locate(self, path: FieldPath) -> Location:
        """The location of a field path of the plan."""
        return Location(self.path, _nearest_line(self.lines, path), _dotted(path))


def load_gameday(path: Path) -> LoadedGameday:
    """Load a plan and every experiment it names; SpecError or SpecErrors (exit 2) otherwise."""
    text = read_text(path)
    lines, plain = parse_mapping(
        text, path, "a game-day plan", "start with 'version: sloverify/v1' and 'kind: gameday'"
    )
    # The experiments are taken out first: each is validated on its own (a file, or inline
    # with its lines in this plan), so its errors read as an experiment's.
    raw_steps = plain.get("steps")
    refs: list[Any] = []
    if isinstance(raw_steps, list):
        for i, s in enumerate(raw_steps):
            if isinstance(s, dict):
                refs.append(s.pop("experiment", None))
            else:
                refs.append(None)
                lines.setdefault(("steps", i), lines.get(("steps",), 1))
    try:
        gameday = Gameday.model_validate(plain)
    except ValidationError as exc:
        details = _relevant(exc.errors(), _FIELDS)
        errors = [_translate(d, plain, path, lines, (), _FIELDS, _HELP) for d in details]
        raise SpecErrors.of(errors) from None
    loaded = LoadedGameday(gameday, path, lines)
    steps: list[LoadedStep] = []
    errs: list[SpecError | SpecErrors] = []
    for i, (step, ref) in enumerate(zip(gameday.steps, refs, strict=True)):
        try:
            steps.append(LoadedStep(i + 1, step, _experiment(loaded, i, ref)))
        except (SpecError, SpecErrors) as exc:
            errs.append(exc)
    if errs:
        raise SpecErrors.of(errs)
    _check_steps(loaded, steps)
    return LoadedGameday(gameday, path, lines, tuple(steps))


def _experiment(plan: LoadedGameday, i: int, ref: Any) -> LoadedExperiment:
    where: FieldPath = ("steps", i, "experiment")
    if isinstance(ref, dict):
        # Inline: version and kind go without saying inside a plan.
        data = {"version": "sloverify/v1", "kind": "experiment", **ref}
        exp = load_experiment_data(data, plan.path, plan.lines, where)
    elif isinstance(ref, str) and ref:
        file = (plan.path.parent / ref).resolve()
        if not file.is_file():
            known = [os.path.relpath(p, plan.path.parent) for p in _siblings(plan.path)]
            close = difflib.get_close_matches(ref, known, n=1, cutoff=0.6)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else "give a path relative to the plan's folder, or write the experiment inline"
            )
            raise SpecError(plan.locate(where), f"no experiment file {ref!r} ({file})", hint)
        exp = load_experiment(file)
    elif ref is None:
        raise SpecError(
            plan.locate(("steps", i)),
            "missing required field 'experiment'",
            f"name an experiment file or write one inline ({_HELP})",
        )
    else:
        raise SpecError(
            plan.locate(where),
            f"experiment must be a file name or an inline experiment, got {ref!r}",
            _HELP,
        )
    # The plan's time scale replaces the experiment's. The plan's and the step's guards stay
    # in the plan (their lines are its): they are resolved against the step's specs later.
    scaled = exp.experiment.model_copy(update={"time_scale": plan.gameday.time_scale})
    return LoadedExperiment(scaled, exp.path, exp.lines, exp.prefix)


def _siblings(plan: Path) -> list[Path]:
    # Experiment files near the plan, for the "did you mean" of a mistyped name.
    root = plan.parent.parent
    return sorted(p for p in root.glob("*/*.yaml") if p.parent != plan.parent)


def _check_steps(plan: LoadedGameday, steps: list[LoadedStep]) -> None:
    seen: dict[str, int] = {}
    for s in steps:
        name = s.experiment.experiment.name
        if name in seen:
            raise SpecError(
                plan.locate(("steps", s.number - 1, "experiment")),
                f"steps {seen[name]} and {s.number} both run experiment {name!r}",
                "each step runs its own experiment (the reports key them by name)",
            )
        seen[name] = s.number
        if not (s.experiment.experiment.guard or s.step.guard or plan.gameday.guard):
            raise SpecError(
                plan.locate(("steps", s.number - 1)),
                f"step {s.number} ({name}) has no guard",
                "a game day arms a guard for every step: add 'guard: [{slo: NAME, "
                "max_burn_rate: N}]' to the plan, the step or its experiment",
            )
