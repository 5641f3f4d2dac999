"""Checks on measurement windows: ranges fixed in queries versus stated and alert windows."""

from __future__ import annotations

from collections.abc import Iterator

from sloverify.rules.lint.findings import Finding, Severity, SLORef
from sloverify.rules.sli import error_ratio, fixed_ranges
from sloverify.spec import SLIKind


def measurement_window(ref: SLORef) -> Iterator[Finding]:
    """SLO007: windows in queries must match the window the document says it measures over."""
    slo = ref.slo
    stated = slo.stated.measurement_window
    if stated is not None:
        # Only ranges written in the spec count: {{.window}} follows the alert windows.
        wrong = sorted({r for t in _sli_texts(ref) for r in fixed_ranges(t) if r != stated})
        if wrong:
            yield Finding(
                "SLO007",
                Severity.WARNING,
                ref.at("sli"),
                f"{ref.name}: the query measures over "
                + ", ".join(f"[{r}]" for r in wrong)
                + f", but the document states a {stated} measurement window",
                f"use [{stated}] (or {{{{.window}}}}), or correct the stated window",
            )
        ts = slo.sli.time_slices
        if ts is not None and ts.slice != stated:
            yield Finding(
                "SLO007",
                Severity.WARNING,
                ref.at("sli", "time_slices", "slice"),
                f"{ref.name}: slices of {ts.slice} differ from the stated {stated} window",
            )
    if slo.sli.kind in (SLIKind.EVENTS, SLIKind.RAW) and not error_ratio(slo.sli).windowed:
        ranges = sorted({r for t in _sli_texts(ref) for r in fixed_ranges(t)})
        alert_windows = sorted({w for a in ref.alerts for w in a.windows if w not in ranges})
        if ranges and alert_windows:
            yield Finding(
                "SLO007",
                Severity.WARNING,
                ref.at("sli"),
                f"{ref.name}: the SLI fixes its range at "
                + ", ".join(f"[{r}]" for r in ranges)
                + f", so the {', '.join(map(str, alert_windows))} alert windows average "
                f"{ranges[0]} ratios instead of measuring their own window",
                "write [{{.window}}] in place of the fixed range, as Sloth does",
            )


def _sli_texts(ref: SLORef) -> list[str]:
    sli = ref.slo.sli
    if sli.events is not None:
        return [
            q for q in (sli.events.error_query, sli.events.good_query, sli.events.total_query) if q
        ]
    if sli.raw is not None:
        return [q for q in (sli.raw.error_ratio_query, sli.raw.good_ratio_query) if q]
    if sli.time_slices is not None:
        return [sli.time_slices.query]
    return []
