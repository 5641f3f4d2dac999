"""Checks on what SLI selectors select: the declared endpoint scope, and the exporter's labels."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from sloverify.rules.lint.exporters import KNOWN, TARGET_LABELS, metric_labels
from sloverify.rules.lint.findings import Finding, Severity, SLORef
from sloverify.rules.queries import Matcher, Selector
from sloverify.spec import Exporter
from sloverify.spec.models import Endpoint


def _holds(matcher: Matcher, value: str) -> bool:
    # Prometheus anchors regex matchers at both ends: fullmatch.
    if matcher.op == "=":
        return value == matcher.value
    if matcher.op == "!=":
        return value != matcher.value
    try:
        hit = re.fullmatch(matcher.value, value) is not None
    except re.error:
        return True  # an RE2 construct Python lacks: do not guess
    return hit if matcher.op == "=~" else not hit


def _selects(selector: Selector, endpoint: Endpoint, path_label: str, method_label: str) -> bool:
    return all(_holds(m, endpoint.path) for m in selector.matchers_for(path_label)) and all(
        _holds(m, endpoint.method) for m in selector.matchers_for(method_label)
    )


def endpoint_scope(ref: SLORef) -> Iterator[Finding]:
    """SLO005: the SLI's selectors must cover its declared endpoints, and nothing else."""
    scope = ref.slo.scope
    if scope is None:
        return
    facts = ref.sli_facts()
    total = [(p, f) for p, f in facts if p[-1] == "total_query"] or facts
    selectors = [s for _, f in total for s in f.selectors]
    if not selectors:
        return
    where = ref.loaded.locate(total[0][0])
    catalog = ref.loaded.spec.endpoints or scope.endpoints

    def covered(e: Endpoint) -> bool:
        return any(_selects(s, e, scope.path_label, scope.method_label) for s in selectors)

    missed = [e for e in scope.endpoints if not covered(e)]
    extra = [e for e in catalog if e not in scope.endpoints and covered(e)]
    if missed:
        yield Finding(
            "SLO005",
            Severity.ERROR,
            where,
            f"{ref.name}: the selector misses {_list(missed)}, which the SLO's scope includes",
            f"widen the {scope.path_label}/{scope.method_label} matchers to cover them",
        )
    if extra:
        scope_methods = {e.method for e in scope.endpoints}
        other_method = any(e.method not in scope_methods for e in extra)
        no_method = not any(s.matchers_for(scope.method_label) for s in selectors)
        no_path = not any(s.matchers_for(scope.path_label) for s in selectors)
        if other_method and no_method:
            why = f" (no {scope.method_label} matcher)"
            hint = f'add {scope.method_label}=~"{"|".join(sorted(scope_methods))}"'
        else:
            why = f" (no {scope.path_label} matcher)" if no_path else ""
            hint = f"narrow the {scope.path_label} matcher to the scope's paths"
        yield Finding(
            "SLO005",
            Severity.ERROR,
            where,
            f"{ref.name}: the selector also counts {_list(extra)}, outside the SLO's scope"
            f" ({_list(scope.endpoints)}){why}",
            hint,
        )


def _list(endpoints: list[Endpoint] | tuple[Endpoint, ...]) -> str:
    return ", ".join(str(e) for e in endpoints)


def exporter_labels(ref: SLORef) -> Iterator[Finding]:
    """SLO006: selectors may only use metrics and labels the named exporter emits."""
    sli = ref.slo.sli
    if sli.exporter is None:
        return
    custom = dict(sli.exporter_labels)
    named = ref.slo.stated.metric
    used = {s.metric for s in ref.sli_selectors()}
    if named is not None and used and not any(m == named or m.startswith(named) for m in used):
        yield Finding(
            "SLO006",
            Severity.ERROR,
            ref.at("stated", "metric"),
            f"{ref.name}: the document names {named}, but its query selects "
            f"{', '.join(sorted(used))}",
            f"{sli.exporter.value} emits {', '.join(_families(KNOWN[sli.exporter]))}"
            if sli.exporter in KNOWN
            else "make the text and the query name the same metric",
        )
    known = custom if sli.exporter is Exporter.CUSTOM else KNOWN.get(sli.exporter, {})
    for path, facts in ref.sli_facts():
        where = ref.loaded.locate(path)
        for sel in facts.selectors:
            labels = metric_labels(sli.exporter, custom, sel.metric)
            if labels is None:
                close = difflib.get_close_matches(sel.metric, list(known), n=1, cutoff=0.5)
                yield Finding(
                    "SLO006",
                    Severity.ERROR,
                    where,
                    f"{ref.name}: {sli.exporter.value} does not emit {sel.metric}",
                    f"did you mean {close[0]}?" if close else "check the metric name",
                )
                continue
            allowed = set(labels) | TARGET_LABELS
            for m in sel.matchers:
                if m.name in allowed:
                    continue
                close = difflib.get_close_matches(m.name, sorted(allowed), n=1, cutoff=0.5)
                yield Finding(
                    "SLO006",
                    Severity.ERROR,
                    where,
                    f"{ref.name}: label '{m.name}' is not emitted by {sli.exporter.value} on "
                    f"{sel.metric} (it has {', '.join(sorted(labels))}), so "
                    f'{m.name}{m.op}"{m.value}" matches nothing',
                    f"did you mean '{close[0]}'?" if close else "use one of the labels it has",
                )


def _families(table: dict[str, tuple[str, ...]]) -> list[str]:
    return sorted({re.sub(r"_(bucket|count|sum)$", "", m) for m in table})
