"""PromQL for an SLO's error ratio over a window, and time scaling of query ranges.

Two shapes exist. A *windowed* SLI has Sloth's ``{{.window}}`` (or is a latency SLI we build
ourselves), so the ratio over any window W is one query. A *base* SLI has its range fixed in
the text (``[5m]``, as some documents write) or is a time-slice SLI: it is recorded once per
evaluation and windows are its time average, ``avg_over_time(base[W])``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from sloverify.spec import SLI, Duration, Op, SLIKind
from sloverify.spec.models import WINDOW_PLACEHOLDER

_DURATION = r"\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*"
_RANGE = re.compile(rf"\[\s*({_DURATION})\s*(?::\s*({_DURATION})?\s*)?\]")
_OFFSET = re.compile(rf"(\b(?i:offset)\s+-?)({_DURATION})")  # PromQL keywords ignore case
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')


@dataclass(frozen=True)
class ErrorRatio:
    """How to compute an SLO's error ratio: per window, or from a base series."""

    windowed_template: str | None
    base_expr: str | None

    @property
    def windowed(self) -> bool:
        """Whether the ratio over a window is a single query."""
        return self.windowed_template is not None

    def over(self, window: Duration, scale: Fraction = Fraction(1)) -> str:
        """The error ratio over ``window`` (a windowed SLI only), with ranges divided by scale."""
        if self.windowed_template is None:
            raise ValueError("a base SLI has no per-window query; average its base series")
        text = self.windowed_template.replace(WINDOW_PLACEHOLDER, window.prometheus())
        return scale_ranges(text, scale)

    def base(self, scale: Fraction = Fraction(1)) -> str:
        """The base series' expression (a base SLI only), with ranges divided by scale."""
        if self.base_expr is None:
            raise ValueError("a windowed SLI has no base series")
        return scale_ranges(self.base_expr, scale)


def error_ratio(sli: SLI) -> ErrorRatio:
    """The error ratio PromQL for an SLI."""
    kind = sli.kind
    if kind is SLIKind.EVENTS:
        assert sli.events is not None
        ev = sli.events
        total = f"({ev.total_query})"
        if WINDOW_PLACEHOLDER not in ev.total_query:
            # A base series is averaged over windows up to the period: one 0/0 (a scrape gap,
            # no traffic for a moment) recorded as NaN would make every window containing it
            # NaN, a 30d budget window for 30 days. No requests record no sample instead.
            total = f"({total} > 0)"
        expr = (
            f"({ev.error_query})\n/\n{total}"
            if ev.error_query is not None
            else f"1 - (\n({ev.good_query})\n/\n{total}\n)"
        )
        return _windowed_or_base(expr)
    if kind is SLIKind.RAW:
        assert sli.raw is not None
        raw = sli.raw
        expr = (
            f"({raw.error_ratio_query})"
            if raw.error_ratio_query is not None
            else f"1 - ({raw.good_ratio_query})"
        )
        return _windowed_or_base(expr)
    if kind is SLIKind.LATENCY:
        assert sli.latency is not None
        lat = sli.latency
        inner = lat.selector.strip()[1:-1].strip().rstrip(",") if lat.selector else ""
        sep = "," if inner else ""
        bucket = f'{lat.histogram}_bucket{{{inner}{sep}le=~"{le_regex(lat.threshold)}"}}'
        count = f"{lat.histogram}_count{{{inner}}}" if inner else f"{lat.histogram}_count"
        template = (
            f"1 - (\nsum(rate({bucket}[{WINDOW_PLACEHOLDER}]))\n/\n"
            f"sum(rate({count}[{WINDOW_PLACEHOLDER}]))\n)"
        )
        return ErrorRatio(template, None)
    assert sli.time_slices is not None
    ts = sli.time_slices
    query = ts.query.replace(WINDOW_PLACEHOLDER, ts.slice.prometheus())
    bad = _BAD_WHEN[ts.good_when]
    return ErrorRatio(None, f"max(\n({query}) {bad} bool {ts.threshold!r}\n)")


_BAD_WHEN = {Op.LT: ">=", Op.LE: ">", Op.GT: "<=", Op.GE: "<"}


def _windowed_or_base(expr: str) -> ErrorRatio:
    if WINDOW_PLACEHOLDER in expr:
        return ErrorRatio(expr, None)
    return ErrorRatio(None, expr)


def le_regex(value: float) -> str:
    """A regex matching every way exporters print a bucket bound (``1``, ``1.0``, ``0.3``)."""
    text = repr(float(value))
    if text.endswith(".0"):
        return re.escape(text[:-2]).replace("\\", "\\\\") + r"(\\.0*)?"
    return re.escape(text).replace("\\", "\\\\") + "0*"


def scale_ranges(query: str, scale: Fraction) -> str:
    """Divide every range (``[5m]``, ``[1h:1m]``) and ``offset`` in a query by ``scale``.

    String literals are left untouched, so a regex such as ``path=~"[a-z]+"`` is safe.
    """
    if scale == 1:
        return query
    out, pos = [], 0
    for match in _STRING.finditer(query):
        out.append(_scale_code(query[pos : match.start()], scale))
        out.append(match.group(0))
        pos = match.end()
    out.append(_scale_code(query[pos:], scale))
    return "".join(out)


def _scale_code(code: str, scale: Fraction) -> str:
    def rng(m: re.Match[str]) -> str:
        first = (Duration.parse(m.group(1)) / scale).prometheus()
        if m.group(0).count(":") == 0:
            return f"[{first}]"
        step = (Duration.parse(m.group(2)) / scale).prometheus() if m.group(2) else ""
        return f"[{first}:{step}]"

    def off(m: re.Match[str]) -> str:
        return m.group(1) + (Duration.parse(m.group(2)) / scale).prometheus()

    return _OFFSET.sub(off, _RANGE.sub(rng, code))


def fixed_ranges(query: str) -> list[Duration]:
    """The literal ranges written in a query (outside strings), such as the 5m of ``[5m]``."""
    code = _STRING.sub('""', query)
    return [Duration.parse(m.group(1)) for m in _RANGE.finditer(code)]
