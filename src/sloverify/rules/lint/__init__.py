"""Lint: what is wrong with an SLO document, located, with an id, a severity and a fix.

| id     | severity | finding                                                              |
| ------ | -------- | -------------------------------------------------------------------- |
| SLO001 | error    | stated arithmetic (budget minutes, percentages) does not hold        |
| SLO002 | error    | a burn threshold no error ratio can reach (factor * budget >= 1)     |
| SLO003 | warning  | a single short window fires on a burst that spends little budget     |
| SLO004 | warning  | short/long window ratio far from the Workbook's 1/12                 |
| SLO005 | error    | selectors that miss, or exceed, the declared endpoint scope          |
| SLO006 | error    | metric or label names the named exporter does not emit               |
| SLO007 | warning  | query windows that differ from the stated or alerting windows        |
| SLO008 | error    | conflicting objectives for the same endpoints or the same query      |
| SLO009 | warn/err | too few events in an alert's window at the declared traffic          |
"""

from __future__ import annotations

from sloverify.rules.lint.budget import alert_thresholds, event_volume, stated_arithmetic
from sloverify.rules.lint.conflicts import conflicting_objectives
from sloverify.rules.lint.findings import Finding, LintContext, Severity, SLORef
from sloverify.rules.lint.selectors import endpoint_scope, exporter_labels
from sloverify.rules.lint.windows import measurement_window

PER_SLO = (
    stated_arithmetic,
    alert_thresholds,
    endpoint_scope,
    exporter_labels,
    measurement_window,
    event_volume,
)


def run_lint(ctx: LintContext) -> list[Finding]:
    """Every finding for the specs in ``ctx``, ordered by file and line."""
    refs = list(ctx.slos())
    findings = [f for ref in refs for check in PER_SLO for f in check(ref)]
    findings.extend(conflicting_objectives(refs))
    return sorted(findings, key=lambda f: (str(f.location.path), f.location.line or 0, f.id))


def blind_slis(ctx: LintContext) -> dict[tuple[str, str], Finding]:
    """SLOs whose SLI reads no data, keyed by (service, SLO name): SLO006 on the SLI's queries.

    A metric or label the exporter does not emit makes the selector match nothing, so no
    fault can fire the SLO's alerts (SLO006 on the document's text alone does not count).
    """
    out: dict[tuple[str, str], Finding] = {}
    for ref in ctx.slos():
        prefix = f"slos[{ref.index}].sli"
        for f in exporter_labels(ref):
            if f.location.field.startswith(prefix):
                out.setdefault((ref.loaded.spec.service, ref.slo.name), f)
    return out


__all__ = ["Finding", "LintContext", "SLORef", "Severity", "blind_slis", "run_lint"]
