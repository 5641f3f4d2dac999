"""A stack definition (``stacks/<name>/stack.yaml``): services, their edges, their scrape jobs.

The format is described in ``stacks/README.md``. Like SLO specs, every error names the file,
the line and the field, with a hint; the only I/O is reading the file (and checking that each
service's program exists beside it, so a typo fails before anything starts).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from sloverify._exceptions import Location, SpecError, SpecErrors
from sloverify.spec.base import Frozen
from sloverify.spec.loader import (
    FieldPath,
    _dotted,
    _nearest_line,
    innermost,
    parse_mapping,
    read_text,
)

_NAME = r"^[a-z0-9][a-z0-9-]*$"
_ENV = r"^[A-Z_][A-Z0-9_]*$"


class Dependency(StrEnum):
    """Runtime components a service's edge can target (besides the stack's own services)."""

    POSTGRES = "postgres"
    KAFKA = "kafka"
    MONGO = "mongo"


class Edge(Frozen):
    """One dependency edge of a service; it goes through a Toxiproxy proxy of its own."""

    target: str = Field(pattern=_NAME)
    env: str = Field(pattern=_ENV)
    edge: str | None = Field(default=None, pattern=_NAME)


class Kube(Frozen):
    """Names under which the supervisor reports the service's restarts, as kube-state-metrics."""

    namespace: str
    pod: str
    container: str


class Service(Frozen):
    """One process of a stack: a Python program, its HTTP or metrics port, its edges."""

    name: str = Field(pattern=_NAME)
    run: str = Field(pattern=r"\.py$")
    args: tuple[str, ...] = ()
    http: bool = True
    health: str = Field(default="/health", pattern=r"^/")
    openapi: str | None = Field(default=None, pattern=r"^/")
    metrics: str | None = Field(default="/metrics", pattern=r"^/")
    job: str | None = None
    scrape_labels: dict[str, str] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    uses: tuple[Edge, ...] = ()
    depends_on: tuple[str, ...] = ()
    kube: Kube | None = None

    def edge_name(self, edge: Edge) -> str:
        """The proxy name of an edge: its own, or ``<service>-<target>``."""
        return edge.edge or f"{self.name}-{edge.target}"

    @property
    def scrape_job(self) -> str:
        """The Prometheus job this service is scraped as."""
        return self.job or self.name


class StackSpec(Frozen):
    """A whole stack: its services and their dependency edges."""

    version: Literal["sloverify/v1"]
    kind: Literal["stack"]
    name: str = Field(pattern=_NAME)
    description: str = ""
    services: tuple[Service, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> StackSpec:
        names = [s.name for s in self.services]
        known = [*names, *(d.value for d in Dependency)]
        edges: list[str] = []
        for i, s in enumerate(self.services):
            for j, e in enumerate(s.uses):
                if e.target not in known or e.target == s.name:
                    raise _Problem(("services", i, "uses", j, "target"), e.target, known)
                edges.append(s.edge_name(e))
            for j, d in enumerate(s.depends_on):
                if d not in names or d == s.name:
                    raise _Problem(("services", i, "depends_on", j), d, names)
        if len(set(names)) < len(names):
            raise ValueError(
                f"service names repeat: {sorted(n for n in names if names.count(n) > 1)}"
            )
        if len(set(edges)) < len(edges):
            raise ValueError(
                f"edge names repeat: {sorted({e for e in edges if edges.count(e) > 1})}; "
                "give one of them an 'edge:' name"
            )
        return self

    def service(self, name: str) -> Service:
        """A service by name."""
        return next(s for s in self.services if s.name == name)

    def dependencies(self) -> tuple[Dependency, ...]:
        """The runtime components the stack's edges target, in a stable order."""
        targets = {e.target for s in self.services for e in s.uses}
        return tuple(d for d in Dependency if d.value in targets)


class _Problem(ValueError):
    # A reference that does not resolve, raised from a validator with the exact field path
    # (pydantic would only locate it at the model).
    def __init__(self, path: FieldPath, got: str, known: list[str]) -> None:
        self.path = path
        close = difflib.get_close_matches(got, known, n=1)
        self.hint = f"did you mean '{close[0]}'?" if close else f"use one of {known}"
        super().__init__(f"{got!r} is not a service of this stack nor a runtime component")


@dataclass(frozen=True)
class LoadedStack:
    """A validated stack definition with its folder and the line of every field."""

    spec: StackSpec
    path: Path
    lines: Mapping[FieldPath, int] = field(repr=False)

    @property
    def folder(self) -> Path:
        """The stack's folder: services run from here."""
        return self.path.parent

    def locate(self, path: FieldPath) -> Location:
        """The location of a field path."""
        return Location(self.path, _nearest_line(self.lines, path), _dotted(path))

    def program(self, service: Service) -> Path:
        """The absolute path of a service's program."""
        return (self.folder / service.run).resolve()


_FIELDS = sorted(
    {n for m in (StackSpec, Service, Edge, Kube) for n in m.model_fields}  # for "did you mean"
)


def load_stack(path: Path) -> LoadedStack:
    """Load and validate a stack definition; SpecError or SpecErrors (exit 2) otherwise."""
    text = read_text(path)
    lines, plain = parse_mapping(
        text, path, "a stack definition", "start with 'version: sloverify/v1' and 'kind: stack'"
    )
    try:
        spec = StackSpec.model_validate(plain)
    except ValidationError as exc:
        raise SpecErrors.of(_translate(d, path, lines) for d in innermost(exc.errors())) from None
    loaded = LoadedStack(spec, path, lines)
    for i, s in enumerate(spec.services):
        if not loaded.program(s).is_file():
            raise SpecError(
                loaded.locate(("services", i, "run")),
                f"{s.run} does not exist in {loaded.folder}",
                "give the service's Python file relative to the stack's folder",
            )
    return loaded


def _translate(err: object, path: Path, lines: Mapping[FieldPath, int]) -> SpecError:
    assert isinstance(err, dict)
    loc: FieldPath = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
    ctx = err.get("ctx") or {}
    problem = ctx.get("error")
    if isinstance(problem, _Problem):
        loc = problem.path
        return SpecError(_where(path, lines, loc), str(problem), problem.hint)
    where = _where(path, lines, loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        close = difflib.get_close_matches(name, _FIELDS, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "remove it (see stacks/README.md)"
        return SpecError(where, f"unknown field '{name}'", hint)
    if kind == "missing":
        return SpecError(
            where, f"missing required field '{loc[-1]}'", "add it (see stacks/README.md)"
        )
    message = str(err["msg"]).removeprefix("Value error, ")
    return SpecError(where, message, "see stacks/README.md for the format")


def _where(path: Path, lines: Mapping[FieldPath, int], loc: FieldPath) -> Location:
    return Location(path, _nearest_line(lines, loc), _dotted(loc))
