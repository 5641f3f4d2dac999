"""A self-contained HTML page: the summary, then per experiment its chart and its verdicts.

No external assets: the style is inline and every chart is an inline SVG.
"""

from __future__ import annotations

from html import escape

from sloverify.reports.chart import chart
from sloverify.reports.record import RunRecord

_STYLE = """
body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.pass{color:#1a7f37}.fail{color:#cf222e}.inconclusive{color:#9a6700}
code{background:#f3f3f3;padding:1px 3px}
"""


def render_html(run: RunRecord) -> str:
    """The HTML document."""
    run_id = escape(run.started.run_id) if run.started else "?"
    st = run.status.value
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>sloverify chaos run {run_id}</title><style>{_STYLE}</style></head><body>",
        f'<h1>Chaos run <code>{run_id}</code>: <span class="{st}">{st}</span></h1>',
        "<table><tr><th>experiment</th><th>expectation</th><th>verdict</th><th>why</th></tr>",
    ]
    for exp, v in run.verdicts():
        out.append(
            f"<tr><td>{escape(exp.name)}</td><td>{escape(v.label)}</td>"
            f'<td class="{v.status.value}">{v.status.value}</td><td>{escape(v.reason)}</td></tr>'
        )
    out.append("</table>")
    for exp in run.experiments:
        p = exp.planned
        out.append(
            f'<h2>{escape(exp.name)}: <span class="{exp.status.value}">{exp.status.value}</span></h2>'
        )
        out.append(
            f"<p>Stack <code>{escape(p.stack)}</code>, time scale k={escape(p.scale)}, file <code>{escape(p.file)}</code>.</p>"
        )
        if exp.finished and exp.finished.aborted:
            out.append(f"<p><strong>Aborted:</strong> {escape(exp.finished.aborted)}</p>")
        out.append(chart(exp))
        out.append("<ul>")
        for v in exp.verdicts:
            values = ", ".join(
                f"{escape(k)}={'—' if x is None else format(x, '.4g')}"
                for k, x in v.evidence.values.items()
            )
            out.append(
                f'<li><span class="{v.status.value}">{v.status.value}</span> <b>{escape(v.label)}</b>: '
                f"{escape(v.reason)}<br><small>{values}</small></li>"
            )
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
