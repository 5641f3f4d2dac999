"""Synthetic probes (``synthetic/<stack>.yaml``): uptime, API, database and journey checks.

The format is in the README ("Synthetic probes"). Targets are names (a stack's services or
runtime components, resolved to URLs when a run starts) or URLs (a real environment). Like SLO
specs, every error names the file, the line and the field, with a hint; the only I/O is
reading the file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from sloverify._exceptions import Location, SpecError, SpecErrors
from sloverify.spec.base import Frozen
from sloverify.spec.durations import Duration, DurationError
from sloverify.spec.loader import (
    FieldPath,
    _dotted,
    _nearest_line,
    innermost,
    parse_mapping,
    read_text,
)

_NAME = r"^[a-z0-9][a-z0-9_.-]*$"
# A target is a name (resolved by the run) or an http(s), postgresql or mongodb URL.
_TARGET = r"^([a-z0-9][a-z0-9_.-]*|(https?|postgres(ql)?|mongodb)://\S+)$"
_COLLECTION = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+$"
_JSON_PATH = r"^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*$"
DEFAULT_INTERVAL = "60s"
DEFAULT_TIMEOUT = "10s"


class ProbeKind(StrEnum):
    """The four kinds of probe document 002 lists."""

    UPTIME = "uptime"
    API = "api"
    DB = "db"
    JOURNEY = "journey"


class Method(StrEnum):
    """HTTP methods a probe may use."""

    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    HEAD = "HEAD"


class JsonCheck(Frozen):
    """One assertion on a JSON body: the value at ``path`` equals, contains, or exists."""

    path: str = Field(pattern=_JSON_PATH)
    equals: Any = None
    contains: Any = None
    exists: bool | None = None

    @model_validator(mode="after")
    def _one_assertion(self) -> JsonCheck:
        given = [n for n in ("equals", "contains", "exists") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of equals, contains, exists (got {given or 'none'})"
            )
        return self


class Expect(Frozen):
    """What an HTTP answer must be: a status and, optionally, body assertions."""

    status: int = Field(default=200, ge=100, le=599)
    json_checks: tuple[JsonCheck, ...] = Field(default=(), alias="json")
    body_contains: str | None = None


class Request(Frozen):
    """One HTTP request: ``{name}`` in the path or body strings takes a value saved earlier."""

    method: Method = Method.GET
    path: str = Field(default="/", pattern=r"^/")
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict)
    expect: Expect = Expect()


class Step(Request):
    """One journey step: a request, then values saved from its JSON answer for later steps."""

    name: str = Field(default="", pattern=r"^[a-z0-9_.-]*$")
    save: dict[str, Annotated[str, Field(pattern=_JSON_PATH)]] = Field(default_factory=dict)


class _Probe(Frozen):
    name: str = Field(pattern=_NAME)
    target: str = Field(pattern=_TARGET)
    interval: str | None = None  # default: the file's
    timeout: str | None = None


class UptimeProbe(_Probe):
    """An HTTP GET that must answer the expected status (default 200)."""

    kind: Literal[ProbeKind.UPTIME]
    path: str = Field(default="/health", pattern=r"^/")
    status: int = Field(default=200, ge=100, le=599)


class ApiProbe(_Probe, Request):
    """An HTTP call on a critical endpoint, checked on its status and its body."""

    kind: Literal[ProbeKind.API]


class DbProbe(_Probe):
    """A key query that must return at least ``min_rows`` rows: SQL, or a MongoDB find.

    ``query`` is SQL for a PostgreSQL target; ``collection`` (``database.collection``) and
    ``filter`` are a find on a MongoDB target (document 004's store is MongoDB).
    """

    kind: Literal[ProbeKind.DB]
    query: str | None = Field(default=None, min_length=1)
    collection: str | None = Field(default=None, pattern=_COLLECTION)
    filter: dict[str, Any] = Field(default_factory=dict)
    min_rows: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _one_query(self) -> DbProbe:
        if (self.query is None) == (self.collection is None):
            raise ValueError(
                "give either 'query' (SQL, for PostgreSQL) or 'collection' (for MongoDB)"
            )
        if self.filter and self.collection is None:
            raise ValueError("'filter' goes with 'collection' (a MongoDB find)")
        return self


class JourneyProbe(_Probe):
    """Several HTTP steps against one target, values carried from step to step."""

    kind: Literal[ProbeKind.JOURNEY]
    steps: tuple[Step, ...] = Field(min_length=1)


Probe = Annotated[UptimeProbe | ApiProbe | DbProbe | JourneyProbe, Field(discriminator="kind")]


class SyntheticSpec(Frozen):
    """A synthetic file: defaults and the probes of one stack (or environment)."""

    version: Literal["sloverify/v1"]
    kind: Literal["synthetic"]
    stack: str = Field(pattern=_NAME)
    interval: str = DEFAULT_INTERVAL
    timeout: str = DEFAULT_TIMEOUT
    probes: tuple[Probe, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Schedule:
    """A probe with its interval and timeout resolved and divided by the time scale, in s."""

    probe: UptimeProbe | ApiProbe | DbProbe | JourneyProbe
    interval: float
    timeout: float


@dataclass(frozen=True)
class LoadedSynthetic:
    """A validated synthetic file, its path and the line of every field."""

    spec: SyntheticSpec
    path: Path
    lines: Mapping[FieldPath, int] = field(repr=False)

    def locate(self, path: FieldPath) -> Location:
        """The location of a field path."""
        return Location(self.path, _nearest_line(self.lines, path), _dotted(path))

    def schedules(self, scale: Fraction = Fraction(1)) -> tuple[Schedule, ...]:
        """Every probe's interval and timeout at time scale ``scale`` (both divided by it)."""
        out = []
        for p in self.spec.probes:
            interval = _seconds(p.interval or self.spec.interval) / scale
            timeout = _seconds(p.timeout or self.spec.timeout) / scale
            out.append(Schedule(p, float(interval), float(timeout)))
        return tuple(out)


_MODELS = (SyntheticSpec, UptimeProbe, ApiProbe, DbProbe, JourneyProbe, Step, Expect, JsonCheck)
_FIELDS = sorted({f.alias or n for m in _MODELS for n, f in m.model_fields.items()})
_KINDS = [k.value for k in ProbeKind]


def load_synthetic(path: Path) -> LoadedSynthetic:
    """Load and validate a synthetic file; SpecError or SpecErrors (exit 2) otherwise."""
    text = read_text(path)
    lines, plain = parse_mapping(
        text,
        path,
        "a synthetic file",
        "start with 'version: sloverify/v1', 'kind: synthetic', 'stack:' and 'probes:'",
    )
    try:
        spec = SyntheticSpec.model_validate(plain)
    except ValidationError as exc:
        raise SpecErrors.of(_translate(d, path, lines) for d in innermost(exc.errors())) from None
    loaded = LoadedSynthetic(spec, path, lines)
    errors = list(_timing_problems(loaded))
    names = [p.name for p in spec.probes]
    for i, n in enumerate(names):
        if names.index(n) != i:
            errors.append(
                SpecError(loaded.locate(("probes", i, "name")), f"probe name {n!r} repeats")
            )
    if errors:
        raise SpecErrors.of(errors)
    return loaded


def _seconds(text: str) -> Fraction:
    return Duration.parse(text).ms / 1000


def _timing_problems(loaded: LoadedSynthetic) -> list[SpecError]:
    spec, errors = loaded.spec, []
    for where, text in (("interval", spec.interval), ("timeout", spec.timeout)):
        if (e := _bad_duration(loaded, (where,), text)) is not None:
            errors.append(e)
    if errors:
        return errors
    for i, p in enumerate(spec.probes):
        bad = [
            e
            for key, text in (("interval", p.interval), ("timeout", p.timeout))
            if text is not None and (e := _bad_duration(loaded, ("probes", i, key), text))
        ]
        errors += bad
        if bad:
            continue
        interval = _seconds(p.interval or spec.interval)
        timeout = _seconds(p.timeout or spec.timeout)
        if timeout >= interval:
            key = "timeout" if p.timeout is not None else "name"
            errors.append(
                SpecError(
                    loaded.locate(("probes", i, key)),
                    f"timeout {p.timeout or spec.timeout} is not below the interval "
                    f"{p.interval or spec.interval}",
                    "a probe must finish before its next start: lower the timeout",
                )
            )
    return errors


def _bad_duration(loaded: LoadedSynthetic, where: FieldPath, text: str) -> SpecError | None:
    try:
        d = Duration.parse(text)
    except DurationError as exc:
        return SpecError(loaded.locate(where), str(exc), "write a duration such as 30s or 1m")
    if not d:
        return SpecError(loaded.locate(where), "must be longer than 0s")
    return None


def _translate(err: object, path: Path, lines: Mapping[FieldPath, int]) -> SpecError:
    assert isinstance(err, dict)
    raw = tuple(err["loc"])
    # pydantic puts the union tag ("uptime") after the probe's index, and "function-after[...]"
    # names for validators: neither is a YAML key.
    loc: FieldPath = tuple(
        p
        for i, p in enumerate(raw)
        if not (isinstance(p, str) and ("[" in p or (p in _KINDS and isinstance(raw[i - 1], int))))
    )
    kind = err["type"]
    if kind.startswith("union_tag"):
        loc = (*loc, "kind")
    where = Location(path, _nearest_line(lines, loc), _dotted(loc))
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        close = difflib.get_close_matches(name, _FIELDS, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "remove it (see the README's format)"
        return SpecError(where, f"unknown field '{name}'", hint)
    if kind == "missing":
        return SpecError(where, f"missing required field '{loc[-1]}'", "add it")
    if kind == "union_tag_not_found":
        return SpecError(where, "missing required field 'kind'", f"use one of {_KINDS}")
    if kind == "union_tag_invalid":
        tag = str((err.get("ctx") or {}).get("tag"))
        close = difflib.get_close_matches(tag, _KINDS, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else f"use one of {_KINDS}"
        return SpecError(where, f"unknown probe kind {tag!r}", hint)
    if kind == "string_pattern_mismatch":
        got, pattern = err.get("input"), (err.get("ctx") or {}).get("pattern")
        hint = _PATTERN_HINTS.get(str(pattern), f"match {pattern}")
        return SpecError(where, f"{got!r} is not valid here", hint)
    message = re.sub(r"^(Value error|Assertion failed), ", "", str(err["msg"]))
    return SpecError(where, message, "see the README's 'Synthetic probes' for the format")


_PATTERN_HINTS = {
    _NAME: "use lower-case letters, digits, '-', '_' or '.'",
    _TARGET: "name a service or component of the stack, or give an http(s):// URL",
    _COLLECTION: "write database.collection, e.g. ca3.gpu_info",
    _JSON_PATH: "write a JSON path such as $.items[0].id",
    r"^/": "a path starts with '/'",
}
