"""An inline SVG chart of one experiment: burn rate (and error ratio) over time, fault window
shaded, alert thresholds dashed, alert states as bands, notifications as markers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from html import escape

from sloverify.reports.record import ExperimentRecord
from sloverify.verdicts.model import AlertState

W, H = 760, 300
L, R, T, B = 60, 70, 20, 70  # margins: left axis, right axis, top, bottom (alert bands)
_LINES = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
_STATE = {AlertState.PENDING: "#f2c94c", AlertState.FIRING: "#d62728"}


def chart(exp: ExperimentRecord) -> str:
    """The SVG element."""
    p = exp.planned
    budgets = {a.slo: a.budget for a in p.alerts}
    lines = {
        slo: [(pt.at, pt.value / budgets.get(slo, 1.0)) for pt in exp.series.get(q, [])]
        for slo, q in p.signals.items()
    }
    times = [t for pts in lines.values() for t, _ in pts] + [e.at for e in exp.polls]
    t0 = exp.start
    t1 = max(times, default=t0 + 1.0)
    thresholds = [(a.name, c.factor) for a in p.alerts for c in a.conditions if c.factor]
    top = (
        max([v for pts in lines.values() for _, v in pts] + [f for _, f in thresholds] + [1.0])
        * 1.1
    )
    plot_h = H - T - B

    def x(t: float) -> float:
        return L + (t - t0) / max(t1 - t0, 1e-9) * (W - L - R)

    def y(v: float) -> float:
        return T + plot_h * (1 - v / top)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" font-family="sans-serif" font-size="11">'
    ]
    out.append(
        f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{plot_h}" fill="#fafafa" stroke="#ccc"/>'
    )
    fin = exp.finished
    if fin and fin.fault_start is not None:
        end = fin.fault_end if fin.fault_end is not None else t1
        out.append(
            f'<rect x="{x(fin.fault_start):.1f}" y="{T}" width="{max(x(end) - x(fin.fault_start), 1):.1f}" '
            f'height="{plot_h}" fill="#ff7f0e" fill-opacity="0.15"><title>fault window</title></rect>'
        )
    budget = next(iter(budgets.values()), 1.0)
    for i in range(6):
        v = top * i / 5
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{L - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.3g}x</text>')
        out.append(f'<text x="{W - R + 4}" y="{y(v) + 4:.1f}">{v * budget:.2g}</text>')
    for name, factor in thresholds:
        out.append(
            f'<line x1="{L}" x2="{W - R}" y1="{y(factor):.1f}" y2="{y(factor):.1f}" stroke="#d62728" '
            f'stroke-dasharray="5,4"><title>{escape(name)}: {factor:g}x budget</title></line>'
        )
    for i, (slo, pts) in enumerate(lines.items()):
        if pts:
            path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
            colour = _LINES[i % len(_LINES)]
            out.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{path}"><title>{escape(slo)} burn rate</title></polyline>'
            )
    out += _bands(exp, x)
    for n in exp.notifications:
        colour = "#d62728" if n.status == "firing" else "#2ca02c"
        out.append(
            f'<path d="M{x(n.at):.1f},{T} l-5,-9 h10 z" fill="{colour}">'
            f"<title>{escape(n.status)} {escape(n.alert)} to {escape(n.receiver)}</title></path>"
        )
    out.append(
        f'<text x="{L}" y="{H - 4}">seconds since the experiment started: 0 to {t1 - t0:.1f}</text>'
    )
    out.append(
        f'<text x="{W - R + 4}" y="{T - 6}">error ratio</text><text x="4" y="{T - 6}">burn rate</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


def _bands(exp: ExperimentRecord, x: Callable[[float], float]) -> list[str]:
    # One row per alert under the plot: pending (amber) and firing (red) stretches.
    out: list[str] = []
    names = sorted({a.name for a in exp.planned.alerts})
    for row, name in enumerate(names):
        yy = H - B + 12 + row * 12
        out.append(
            f'<text x="{L - 4}" y="{yy + 8}" text-anchor="end" font-size="9">{escape(name[:18])}</text>'
        )
        polls = exp.polls
        for a, b in itertools.pairwise(polls):
            states = [s.state for s in a.alerts if s.name == name]
            if not states:
                continue
            state = AlertState.FIRING if AlertState.FIRING in states else AlertState.PENDING
            out.append(
                f'<rect x="{x(a.at):.1f}" y="{yy}" width="{max(x(b.at) - x(a.at), 0.5):.1f}" height="9" fill="{_STATE[state]}"/>'
            )
    return out
