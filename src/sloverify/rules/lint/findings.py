"""Lint findings and the context every check reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sloverify._exceptions import Location
from sloverify.rules.alerts import ResolvedAlert, resolve_alerts
from sloverify.rules.queries import QueryFacts, Selector
from sloverify.spec import SLO, FieldPath, LoadedSpec


class Severity(StrEnum):
    """How bad a finding is; any error makes ``sloverify lint`` exit 1."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem lint found: an id, a severity, where, what, and how to fix it."""

    id: str
    severity: Severity
    location: Location
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.id} {self.severity.value}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


@dataclass(frozen=True)
class SLORef:
    """One SLO of one loaded spec, with its resolved alerts and parsed queries."""

    loaded: LoadedSpec
    index: int
    alerts: tuple[ResolvedAlert, ...]
    facts: Mapping[FieldPath, QueryFacts]

    @property
    def slo(self) -> SLO:
        """The SLO itself."""
        return self.loaded.spec.slos[self.index]

    @property
    def name(self) -> str:
        """``service/slo`` for messages."""
        return f"{self.loaded.spec.service}/{self.slo.name}"

    def at(self, *path: str | int) -> Location:
        """The location of a field under this SLO."""
        return self.loaded.locate(("slos", self.index, *path))

    def sli_facts(self) -> list[tuple[FieldPath, QueryFacts]]:
        """Parsed SLI queries (not alert queries) of this SLO."""
        prefix = ("slos", self.index, "sli")
        return [(p, f) for p, f in self.facts.items() if p[:3] == prefix]

    def sli_selectors(self) -> list[Selector]:
        """Every selector the SLI's queries use."""
        return [s for _, f in self.sli_facts() for s in f.selectors]


@dataclass(frozen=True)
class LintContext:
    """Everything lint reads: the specs and the parser's facts about their queries."""

    specs: tuple[LoadedSpec, ...]
    facts: Mapping[str, Mapping[FieldPath, QueryFacts]]

    def slos(self) -> Iterable[SLORef]:
        """Every SLO of every spec."""
        for loaded in self.specs:
            facts = self.facts.get(str(loaded.path), {})
            for i in range(len(loaded.spec.slos)):
                yield SLORef(loaded, i, resolve_alerts(loaded.spec, i), facts)
