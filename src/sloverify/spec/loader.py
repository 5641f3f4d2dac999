"""Read a spec file into frozen models, translating YAML and validation errors into SpecErrors.

The only I/O here is reading the given file. Every error names the file, the line and the
dotted field, says what is wrong and how to fix it; unknown fields get a "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.tokens import ScalarToken

from sloverify._exceptions import Location, SpecError, SpecErrors
from sloverify.spec.models import (
    LOCATED_CHECKS,
    SLI,
    SLO,
    Alerting,
    AlertKind,
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
    spec_problems,
)

FieldPath = tuple[str | int, ...]

_MODELS: list[type[BaseModel]] = [
    Spec,
    SLO,
    SLI,
    EventsSLI,
    RawSLI,
    LatencySLI,
    TimeSliceSLI,
    Alerting,
    SlothAlertTier,
    BurnRateAlert,
    BudgetConsumedAlert,
    ThresholdAlert,
    BurnWindow,
    Stated,
    Scope,
]
_KNOWN_FIELDS = sorted({(f.alias or name) for m in _MODELS for name, f in m.model_fields.items()})
_ALERT_TAGS = [k.value for k in AlertKind]
_MAX_FIELDS = 100_000
# Hints for the YAML parser's problems that do not say what to do.
_YAML_HINTS = {
    "expected <block end>": "check this line's indentation against the lines above it",
    "'\\t'": "indent with spaces: YAML does not allow tabs",
    "mapping values are not allowed": "quote a value that contains ': ', or check the indentation",
    "duplicate key": "remove or rename one of the two keys",
    "end of stream": "close the quote or bracket opened on this line",
    "<stream end>": "close the quote or bracket opened on this line",
    "another document": "a spec is one YAML document: remove the '---' and what follows it",
}


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with the file it came from and the line of every field."""

    spec: Spec
    path: Path
    lines: Mapping[FieldPath, int] = field(repr=False)

    def locate(self, path: FieldPath) -> Location:
        """The location of a field path; the nearest enclosing field's line if not exact."""
        return Location(self.path, _nearest_line(self.lines, path), _dotted(path))


def read_text(path: Path) -> str:
    """A spec-like file's text; a missing or unreadable file is a located SpecError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(Location(path), "file not found", "check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(Location(path), f"cannot read the file: {exc}") from None


def load_spec(path: Path) -> LoadedSpec:
    """Load and validate one spec file; raise SpecError or SpecErrors (exit code 2)."""
    text = read_text(path)
    return load_spec_text(text, path)


def load_spec_text(text: str, path: Path) -> LoadedSpec:
    """Load and validate spec text that came from ``path`` (used in messages only)."""
    lines, plain = parse_mapping(
        text,
        path,
        "a spec",
        "start with 'version: sloverify/v1' (or prometheus/v1), 'service:' and 'slos:'",
    )
    try:
        spec = Spec.model_validate(plain, context={LOCATED_CHECKS: True})
    except ValidationError as exc:
        details = _relevant(exc.errors())
        errors = [_translate(d, path, lines) for d in details]
    else:
        loaded = LoadedSpec(spec, path, lines)
        errors = [SpecError(loaded.locate(p.path), p.message, p.hint) for p in spec_problems(spec)]
        if not errors:
            return loaded
    raise SpecErrors.of(errors)


def innermost(details: list[ErrorDetails], *, only: str | None = None) -> list[ErrorDetails]:
    """Drop pydantic's echo of a failing item on its enclosing field (of type ``only``, if given).

    A failing list item also fails the list ("at least 1 item", "too short"): only noise.
    """
    locs = [tuple(d["loc"]) for d in details]
    outer = {loc for loc in locs if any(len(o) > len(loc) and o[: len(loc)] == loc for o in locs)}
    return [
        d
        for d, loc in zip(details, locs, strict=True)
        if not (loc in outer and (only is None or d["type"] == only))
    ]


def _relevant(details: list[ErrorDetails]) -> list[ErrorDetails]:
    details = innermost(details, only="too_short")
    # A misspelt field is reported once, as the unknown field with its "did you mean".
    typos = {
        (*d["loc"][:-1], close)
        for d in details
        if d["type"] == "extra_forbidden" and (close := _close_field(str(d["loc"][-1])))
    }
    return [d for d in details if not (d["type"] == "missing" and tuple(d["loc"]) in typos)]


def _parse_yaml(text: str, path: Path) -> Any:
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and mark.index >= len(text.rstrip()):
            mark = exc.context_mark  # at the end of the file: point where the open thing began
        problem = exc.problem or exc.context or "malformed YAML"
        if problem.startswith("but ") and exc.context:
            problem = f"{exc.context}, {problem}"
        hint = next((h for k, h in _YAML_HINTS.items() if k in problem), "fix the YAML syntax")
        line = mark.line + 1 if mark is not None else None
        quote = _runaway_quote(text, line)
        if quote is not None:
            problem += f" (line {line}): the quoted string opened here runs on to line {quote[1]}"
            line, hint = quote[0], "close the quote on this line"
        raise SpecError(Location(path, line), f"malformed YAML: {problem}", hint) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise SpecError(
            Location(path, line),
            f"malformed YAML: character {exc.character:#x} is not allowed ({exc.reason})",
            "remove the control character, or write it as an escape in a double-quoted string",
        ) from None
    except YAMLError as exc:
        raise SpecError(Location(path), f"malformed YAML: {exc}") from None
    except RecursionError:
        raise SpecError(Location(path), "the YAML nests too deeply") from None
    if data is None:
        raise SpecError(
            Location(path, 1), "the file is empty", "write a spec: version, service, slos"
        )
    return data


def _runaway_quote(text: str, error_line: int | None) -> tuple[int, int] | None:
    # An unclosed quote swallows the lines after it, so the parser fails far below it: if the
    # last value before the error is a quoted string spanning lines, blame where it opened.
    last: Any = None
    try:
        for token in YAML(typ="rt").scan(text):
            if isinstance(token, ScalarToken):
                last = token
    except YAMLError:
        pass
    if last is None or last.style not in ('"', "'") or error_line is None:
        return None
    start, end = last.start_mark.line + 1, last.end_mark.line + 1
    return (start, end) if start < end <= error_line else None


def parse_mapping(
    text: str, path: Path, what: str, hint: str
) -> tuple[dict[FieldPath, int], dict[str, Any]]:
    """Parse a file that must be one YAML mapping: its field lines and its plain data.

    ``what`` names the document in the error ("an experiment"); ``hint`` says how to start one.
    """
    lines, plain = _unfold(_parse_yaml(text, path), path)
    lines[()] = _first_content_line(text)
    if not isinstance(plain, dict):
        raise SpecError(
            Location(path, lines[()]),
            f"{what} must be a YAML mapping, got {type(plain).__name__}",
            hint,
        )
    return lines, plain


def _first_content_line(text: str) -> int:
    # The document's own line: the first that is neither blank nor a comment.
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            return number
    return 1


def _unfold(data: Any, path: Path) -> tuple[dict[FieldPath, int], Any]:
    # The line of every field, and the data as plain builtins; aliases (*name) can make the
    # tree contain itself, or expand it exponentially, so both walks are bounded.
    try:
        walked = list(islice(_walk_lines(data, ()), _MAX_FIELDS + 1))
        if len(walked) <= _MAX_FIELDS:
            return dict(walked), _plain(data)
    except RecursionError:
        pass
    raise SpecError(
        Location(path),
        f"the YAML nests too deeply or expands to over {_MAX_FIELDS} fields",
        "use fewer aliases (*name), and none inside the block it refers to",
    )


def _walk_lines(node: Any, path: FieldPath) -> Iterator[tuple[FieldPath, int]]:
    # ruamel keeps 0-based (line, col) for every key and sequence item, but not for keys
    # merged in with '<<: *name' nor in an !!omap: those fall back to the enclosing field.
    children: list[tuple[Any, str | int]]
    if isinstance(node, CommentedMap):
        children = [(key, str(key)) for key in node]
    elif isinstance(node, CommentedSeq):
        children = [(i, i) for i in range(len(node))]
    else:
        return
    positions = node.lc.data or {}
    for key, name in children:
        child = (*path, name)
        if key in positions:
            yield child, positions[key][0] + 1
        yield from _walk_lines(node[key], child)


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


def _close_field(name: str) -> str | None:
    close = difflib.get_close_matches(name, _KNOWN_FIELDS, n=1, cutoff=0.6)
    return close[0] if close else None


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
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    loc = _yaml_path(tuple(err["loc"]))
    if kind.startswith("union_tag"):
        loc = (*loc, "kind")
    location = Location(path, _nearest_line(lines, loc), _dotted(loc))
    got = err.get("input")
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        close = _close_field(name)
        hint = f"did you mean '{close}'?" if close else "remove it, or check the spec reference"
        return SpecError(location, f"unknown field '{name}'", hint)
    if kind == "missing":
        return SpecError(location, f"missing required field '{loc[-1]}'", "add it")
    if kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        choices = [c.strip(" '") for c in str(expected).replace(" or ", ",").split(",")]
        matches = difflib.get_close_matches(str(got), choices, n=1, cutoff=0.5)
        hint = f"did you mean '{matches[0]}'?" if matches else f"use one of {expected}"
        return SpecError(location, f"{got!r} is not allowed here", hint)
    if kind == "union_tag_not_found":
        return SpecError(location, "missing required field 'kind'", f"use one of {_ALERT_TAGS}")
    if kind == "union_tag_invalid":
        tag = str(err.get("ctx", {}).get("tag"))
        matches = difflib.get_close_matches(tag, _ALERT_TAGS, n=1, cutoff=0.5)
        hint = f"did you mean '{matches[0]}'?" if matches else f"use one of {_ALERT_TAGS}"
        return SpecError(location, f"unknown alert kind {tag!r}", hint)
    if kind == "too_short":
        return SpecError(location, f"give at least {err.get('ctx', {}).get('min_length')} item(s)")
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern")
        return SpecError(location, f"{got!r} does not match the pattern {pattern}")
    return SpecError(location, msg)
