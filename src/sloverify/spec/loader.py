"""Read a spec file into frozen models, translating YAML and validation errors into SpecErrors.

The only I/O here is reading the given file. Every error names the file, the line and the
dotted field, says what is wrong and how to fix it; unknown fields get a "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from sloverify._exceptions import Location, SpecError, SpecErrors
from sloverify.spec.models import (
    SLI,
    AlertKind,
    SLO,
    Alerting,
    BudgetConsumedAlert,
    BurnRateAlert,
    BurnWindow,
    EventsSLI,
    LatencySLI,
    RawSLI,
    Scope,
    SlothAlertTier,
    Spec,
    Stated,
    ThresholdAlert,
    TimeSliceSLI,
)

FieldPath = tuple[str | int, ...]

_MODELS: list[type[BaseModel]] = [
    Spec, SLO, SLI, EventsSLI, RawSLI, LatencySLI, TimeSliceSLI, Alerting, SlothAlertTier,
    BurnRateAlert, BudgetConsumedAlert, ThresholdAlert, BurnWindow, Stated, Scope,
]  # fmt: skip
_KNOWN_FIELDS = sorted(
    {(f.alias or name) for m in _MODELS for name, f in m.model_fields.items()}
)
_ALERT_TAGS = {k.value for k in AlertKind}


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with the file it came from and the line of every field."""

    spec: Spec
    path: Path
    lines: Mapping[FieldPath, int] = field(repr=False)

    def locate(self, path: FieldPath) -> Location:
        """The location of a field path; the nearest enclosing field's line if not exact."""
        return Location(self.path, _nearest_line(self.lines, path), _dotted(path))


def load_spec(path: Path) -> LoadedSpec:
    """Load and validate one spec file; raise SpecError or SpecErrors (exit code 2)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(Location(path), "file not found", "check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(Location(path), f"cannot read the file: {exc}") from None
    return load_spec_text(text, path)


def load_spec_text(text: str, path: Path) -> LoadedSpec:
    """Load and validate spec text that came from ``path`` (used in messages only)."""
    data = _parse_yaml(text, path)
    lines = dict(_walk_lines(data, ()))
    plain = _plain(data)
    if not isinstance(plain, dict):
        raise SpecError(
            Location(path, 1),
            f"a spec must be a YAML mapping, got {type(plain).__name__}",
            "start with 'version: sloverify/v1' (or prometheus/v1), 'service:' and 'slos:'",
        )
    try:
        spec = Spec.model_validate(plain)
    except ValidationError as exc:
        details = exc.errors()
        # A failing item also makes pydantic report its tuple as too short: only noise.
        failing = [tuple(d["loc"]) for d in details if d["type"] != "too_short"]
        details = [
            d
            for d in details
            if d["type"] != "too_short"
            or not any(f[: len(d["loc"])] == tuple(d["loc"]) for f in failing)
        ]
        errors = sorted(
            (_translate(d, path, lines) for d in details), key=lambda e: e.location.line or 0
        )
        raise errors[0] if len(errors) == 1 else SpecErrors(errors) from None
    return LoadedSpec(spec, path, lines)


def _parse_yaml(text: str, path: Path) -> Any:
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise SpecError(
            Location(path, line), f"malformed YAML: {problem}", "fix the YAML syntax at that line"
        ) from None
    except YAMLError as exc:
        raise SpecError(Location(path), f"malformed YAML: {exc}") from None
    if data is None:
        raise SpecError(Location(path, 1), "the file is empty", "write a spec: version, service, slos")
    return data


def _walk_lines(node: Any, path: FieldPath) -> Iterator[tuple[FieldPath, int]]:
    # ruamel keeps 0-based (line, col) for every key and sequence item.
    if isinstance(node, CommentedMap):
        for key in node:
            line, _ = node.lc.key(key)
            child = (*path, str(key))
            yield child, line + 1
            yield from _walk_lines(node[key], child)
    elif isinstance(node, CommentedSeq):
        for i, item in enumerate(node):
            line, _ = node.lc.item(i)
            yield (*path, i), line + 1
            yield from _walk_lines(item, (*path, i))


def _plain(node: Any) -> Any:
    # Hand pydantic plain builtins: ruamel's scalar subclasses carry formatting state.
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _nearest_line(lines: Mapping[FieldPath, int], path: FieldPath) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1 if path else None


def _dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _yaml_path(loc: tuple[str | int, ...]) -> FieldPath:
    # pydantic inserts union tags ("burn_rate", "function-after[...]") that are not YAML keys.
    out: list[str | int] = []
    for part in loc:
        after_alert_index = len(out) >= 2 and out[-2] == "alerts" and isinstance(out[-1], int)
        if isinstance(part, str) and after_alert_index and part in _ALERT_TAGS:
            continue
        if isinstance(part, str) and part not in _KNOWN_FIELDS and "[" in part:
            continue
        out.append(part)
    return tuple(out)


def _translate(err: ErrorDetails, path: Path, lines: Mapping[FieldPath, int]) -> SpecError:
    loc = _yaml_path(tuple(err["loc"]))
    location = Location(path, _nearest_line(lines, loc), _dotted(loc))
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        close = difflib.get_close_matches(name, _KNOWN_FIELDS, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "remove it, or check the spec reference"
        return SpecError(location, f"unknown field '{name}'", hint)
    if kind == "missing":
        return SpecError(location, f"missing required field '{loc[-1]}'", "add it")
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        got = err.get("input")
        choices = [c.strip(" '") for c in str(expected).replace(" or ", ",").split(",")]
        close = difflib.get_close_matches(str(got), choices, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else f"use one of {expected}"
        return SpecError(location, f"{got!r} is not allowed here", hint)
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return SpecError(
            location,
            f"unknown alert kind {ctx.get('tag')!r}",
            f"use one of {ctx.get('expected_tags')}",
        )
    return SpecError(location, msg)
