"""Every PromQL expression a spec contains, and what Prometheus's parser says about each.

Parsing is a port (:class:`PromQLInspector`): the adapter asks Prometheus's own parser (a Go
helper); this module only lists the queries with their field paths and turns parse errors
into located PromQLErrors. sloverify has no PromQL parser of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sloverify._exceptions import PromQLError, SpecErrors
from sloverify.rules.sli import error_ratio
from sloverify.spec import (
    Duration,
    FieldPath,
    LoadedSpec,
    SLIKind,
    ThresholdAlert,
    ThresholdTarget,
)
from sloverify.spec.models import WINDOW_PLACEHOLDER


@dataclass(frozen=True)
class Matcher:
    """A label matcher: name, operator (=, !=, =~, !~) and value."""

    name: str
    op: str
    value: str


@dataclass(frozen=True)
class Selector:
    """A vector selector: metric name and label matchers."""

    metric: str
    matchers: tuple[Matcher, ...]

    def matchers_for(self, label: str) -> tuple[Matcher, ...]:
        """The matchers on one label name."""
        return tuple(m for m in self.matchers if m.name == label)


@dataclass(frozen=True)
class QueryFacts:
    """What the parser found in one expression: an error, or its selectors."""

    error: str | None
    selectors: tuple[Selector, ...] = ()


class PromQLInspector(Protocol):
    """Parses PromQL with Prometheus's parser."""

    def inspect(self, exprs: Sequence[str]) -> list[QueryFacts]:
        """Facts for each expression, in order."""
        ...


@dataclass(frozen=True)
class SpecQuery:
    """One expression in a spec: where it is, and its text made parsable."""

    path: FieldPath
    text: str


_PARSE_WINDOW = "5m"


def spec_queries(loaded: LoadedSpec) -> list[SpecQuery]:
    """Every PromQL expression of a spec, with Sloth's ``{{.window}}`` made parsable."""
    out: list[SpecQuery] = []
    for i, slo in enumerate(loaded.spec.slos):
        sli = slo.sli
        base: FieldPath = ("slos", i, "sli")

        def add(path: FieldPath, text: str | None) -> None:
            if text is not None:
                out.append(SpecQuery(path, text.replace(WINDOW_PLACEHOLDER, _PARSE_WINDOW)))

        if sli.kind is SLIKind.EVENTS and sli.events is not None:
            add((*base, "events", "error_query"), sli.events.error_query)
            add((*base, "events", "good_query"), sli.events.good_query)
            add((*base, "events", "total_query"), sli.events.total_query)
        elif sli.kind is SLIKind.RAW and sli.raw is not None:
            add((*base, "raw", "error_ratio_query"), sli.raw.error_ratio_query)
            add((*base, "raw", "good_ratio_query"), sli.raw.good_ratio_query)
        elif sli.kind is SLIKind.LATENCY:
            add((*base, "latency"), error_ratio(sli).over(Duration.parse(_PARSE_WINDOW)))
        elif sli.kind is SLIKind.TIME_SLICES and sli.time_slices is not None:
            add((*base, "time_slices", "query"), sli.time_slices.query)
        for n, alert in enumerate(slo.alerting.alerts or ()):
            if isinstance(alert, ThresholdAlert) and alert.target is ThresholdTarget.QUERY:
                add(("slos", i, "alerting", "alerts", n, "query"), alert.query)
    return out


def inspect_spec(loaded: LoadedSpec, inspector: PromQLInspector) -> Mapping[FieldPath, QueryFacts]:
    """Parse every query of a spec; raise located PromQLErrors (exit 2) for any that fail."""
    queries = spec_queries(loaded)
    facts = inspector.inspect([q.text for q in queries])
    errors = [
        PromQLError(
            loaded.locate(q.path),
            f"PromQL does not parse: {f.error}",
            "fix the expression; Sloth's {{.window}} is allowed where a range goes",
        )
        for q, f in zip(queries, facts, strict=True)
        if f.error is not None
    ]
    if errors:
        raise SpecErrors.of(errors)
    return {q.path: f for q, f in zip(queries, facts, strict=True)}
