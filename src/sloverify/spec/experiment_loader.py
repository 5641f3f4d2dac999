"""Read an experiment file into frozen models, with the spec loader's located errors.

It reuses the spec loader's YAML parsing and line map; only the translation of validation
errors is its own, because the experiment's unions (faults by ``kind``, toxics by ``type``,
expectations by ``expect``) put their tags in pydantic's error paths.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sloverify._exceptions import Location, SpecError, SpecErrors
from sloverify.spec.experiment import (
    EXPERIMENT_MODELS,
    TOXIC_TYPES,
    ExpectKind,
    Experiment,
    FaultKind,
)
from sloverify.spec.loader import (
    FieldPath,
    _dotted,
    _nearest_line,
    innermost,
    parse_mapping,
    read_text,
)

_FIELDS = sorted({f.alias or n for m in EXPERIMENT_MODELS for n, f in m.model_fields.items()})
_TAGS = {
    "kind": [k.value for k in FaultKind],
    "expect": [k.value for k in ExpectKind],
    "type": list(TOXIC_TYPES),
}
_TAG_KEYS = tuple(_TAGS)
_HELP = "see chaos/README.md for the experiment format"


@dataclass(frozen=True)
class LoadedExperiment:
    """A validated experiment with the file it came from and the line of every field."""

    experiment: Experiment
    path: Path
    lines: Mapping[FieldPath, int] = field(repr=False)
    # Where the experiment sits in its file: () for an experiment file, the step's field path
    # for one written inline in a game-day plan (its lines are the plan's).
    prefix: FieldPath = ()

    def locate(self, path: FieldPath) -> Location:
        """The location of a field path; the nearest enclosing field's line if not exact."""
        full = (*self.prefix, *path)
        return Location(self.path, _nearest_line(self.lines, full), _dotted(full))


def load_experiment(path: Path) -> LoadedExperiment:
    """Load and validate one experiment file; SpecError or SpecErrors (exit 2) otherwise."""
    text = read_text(path)
    return load_experiment_text(text, path)


def load_experiment_text(text: str, path: Path) -> LoadedExperiment:
    """Load and validate experiment text that came from ``path`` (used in messages only)."""
    lines, plain = parse_mapping(
        text, path, "an experiment", "start with 'version: sloverify/v1' and 'kind: experiment'"
    )
    loaded = load_experiment_data(plain, path, lines)
    folder = path.parent
    if folder.parent.name == "chaos" and folder.name != loaded.experiment.stack:
        raise SpecError(
            loaded.locate(("stack",)),
            f"this experiment is in chaos/{folder.name}/ but names stack "
            f"{loaded.experiment.stack!r}",
            f"move it to chaos/{loaded.experiment.stack}/, or set stack: {folder.name}",
        )
    return loaded


def load_experiment_data(
    plain: dict[str, Any], path: Path, lines: Mapping[FieldPath, int], prefix: FieldPath = ()
) -> LoadedExperiment:
    """Validate parsed experiment data found at ``prefix`` in ``path`` (whose lines are given)."""
    try:
        experiment = Experiment.model_validate(plain)
    except ValidationError as exc:
        details = _relevant(exc.errors())
        errors = [_translate(d, plain, path, lines, prefix) for d in details]
        raise SpecErrors.of(errors) from None
    loaded = LoadedExperiment(experiment, path, lines, prefix)
    seen: set[str] = set()
    for i, f in enumerate(experiment.faults):
        if f.name in seen:
            raise SpecError(
                loaded.locate(("faults", i, "name")),
                f"two faults are named {f.name!r}",
                "give each fault its own name",
            )
        seen.add(f.name)
    return loaded


def _relevant(details: list[ErrorDetails], fields: Sequence[str] = _FIELDS) -> list[ErrorDetails]:
    details = innermost(details, only="too_short")
    # A misspelt field is reported once, as the unknown field with its "did you mean".
    typos = {
        (*d["loc"][:-1], close[0])
        for d in details
        if d["type"] == "extra_forbidden"
        and (close := difflib.get_close_matches(str(d["loc"][-1]), fields, n=1, cutoff=0.6))
    }
    return [d for d in details if not (d["type"] == "missing" and tuple(d["loc"]) in typos)]


def _yaml_path(loc: tuple[str | int, ...], data: Any) -> FieldPath:
    # Drop the union tags pydantic inserts right after entering a tagged node (faults[0] with
    # kind "toxic" is reported as faults.0.toxic.<field>), by walking the data alongside.
    out: list[str | int] = []
    node, tagged = data, False
    for part in loc:
        if isinstance(part, str) and "[" in part:
            continue
        if not tagged and isinstance(node, dict) and any(node.get(k) == part for k in _TAG_KEYS):
            tagged = True
            continue
        out.append(part)
        tagged = False
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _translate(
    err: ErrorDetails,
    data: Any,
    path: Path,
    lines: Mapping[FieldPath, int],
    prefix: FieldPath = (),
    fields: Sequence[str] = _FIELDS,
    help_: str = _HELP,
) -> SpecError:
    kind = err["type"]
    loc = (*prefix, *_yaml_path(tuple(err["loc"]), data))
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind.startswith("union_tag"):
        loc = (*loc, str(ctx.get("discriminator", "kind")).strip("'"))
    where = Location(path, _nearest_line(lines, loc), _dotted(loc))
    got = err.get("input")
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"remove it ({help_})"
        return SpecError(where, f"unknown field '{name}'", hint)
    if kind == "missing":
        return SpecError(where, f"missing required field '{loc[-1]}'", f"add it ({help_})")
    if kind in ("union_tag_invalid", "union_tag_not_found", "enum", "literal_error"):
        expected = str(ctx.get("expected") or "")
        choices = _TAGS.get(str(loc[-1])) if kind.startswith("union_tag") else None
        if choices is None:
            choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
        if kind == "union_tag_not_found":
            return SpecError(where, f"missing required field '{loc[-1]}'", f"use one of {choices}")
        value = str(ctx.get("tag", got))
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else f"use one of {choices}"
        return SpecError(where, f"{value!r} is not allowed here", hint)
    if kind == "too_short":
        return SpecError(where, f"give at least {ctx.get('min_length')} item(s)", help_)
    if kind == "string_pattern_mismatch":
        return SpecError(
            where,
            f"{got!r} is not a valid name",
            "use lower-case letters, digits, '-', '_' and '.'",
        )
    message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return SpecError(where, message, help_)
