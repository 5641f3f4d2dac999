"""SLO008: objectives that contradict each other for the same endpoints or the same query."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator

from sloverify.rules.lint.findings import Finding, Severity, SLORef
from sloverify.spec import SLIKind


def _latency_target(ref: SLORef) -> tuple[float, float] | None:
    sli = ref.slo.sli
    if sli.latency is not None:
        return sli.latency.threshold, ref.slo.objective
    if sli.time_slices is not None:
        return sli.time_slices.threshold, ref.slo.objective
    return None


def _describe(ref: SLORef) -> str:
    target = _latency_target(ref)
    if target is None:
        return f"{ref.slo.objective:g}%"
    return f"{target[1]:g}% under {target[0]:g}"


def conflicting_objectives(refs: Iterable[SLORef]) -> Iterator[Finding]:
    """Latency objectives that differ for shared endpoints across specs, or for one query."""
    all_refs = list(refs)
    for a, b in itertools.combinations(all_refs, 2):
        ta, tb = _latency_target(a), _latency_target(b)
        if ta is None or tb is None or ta == tb:
            continue
        if a.loaded.path != b.loaded.path and a.slo.scope and b.slo.scope:
            shared = [e for e in a.slo.scope.endpoints if e in b.slo.scope.endpoints]
            if shared:
                yield _conflict(b, a, f"on {', '.join(map(str, shared))}")
                continue
        qa, qb = _slice_query(a), _slice_query(b)
        if qa is not None and qa == qb:
            yield _conflict(b, a, "measuring the very same query")


def _conflict(ref: SLORef, other: SLORef, what: str) -> Finding:
    return Finding(
        "SLO008",
        Severity.ERROR,
        ref.at("sli"),
        f"{ref.name} ({_describe(ref)}) conflicts with {other.name} ({_describe(other)}, "
        f"{other.at('sli')}) {what}",
        "agree on one objective per scope; keep the stricter one or split the scope",
    )


def _slice_query(ref: SLORef) -> str | None:
    sli = ref.slo.sli
    if sli.kind is SLIKind.TIME_SLICES and sli.time_slices is not None:
        return re.sub(r"\s+", "", sli.time_slices.query)
    return None
