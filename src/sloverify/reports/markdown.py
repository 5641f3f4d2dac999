"""The Markdown report: a summary table, then each experiment with its alerts' burn-rate context."""

from __future__ import annotations

from sloverify.reports.record import ExperimentRecord, RunRecord
from sloverify.verdicts.model import Status, Verdict

_MARK = {Status.PASS: "✅ pass", Status.FAIL: "❌ fail", Status.INCONCLUSIVE: "⚠️ inconclusive"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _num(v: float | None, fmt: str = ".4g") -> str:
    return "—" if v is None else format(v, fmt)


def render_markdown(run: RunRecord) -> str:
    """The whole report."""
    run_id = run.started.run_id if run.started else "?"
    out = [f"# sloverify chaos run `{run_id}`: {_MARK[run.status]}", ""]
    if run.finished is not None and run.finished.stopped:
        out += [f"**Stopped:** {_cell(run.finished.stopped)}", ""]
    out += ["| experiment | expectation | verdict | why |", "| --- | --- | --- | --- |"]
    for exp, v in run.verdicts():
        out.append(f"| {exp.name} | {_cell(v.label)} | {_MARK[v.status]} | {_cell(v.reason)} |")
    for exp in run.experiments:
        out += ["", *_experiment(exp)]
    return "\n".join(out) + "\n"


def _experiment(exp: ExperimentRecord) -> list[str]:
    p = exp.planned
    out = [
        f"## {exp.name}: {_MARK[exp.status]}",
        "",
        f"Stack `{p.stack}`, file `{p.file}`, time scale k={p.scale} (one poll every {p.tick:g}s), "
        f"warm-up {p.warm_up:g}s, faults over {p.fault_span:g}s (run time).",
    ]
    if exp.finished and exp.finished.aborted:
        out += ["", f"**Aborted:** {exp.finished.aborted}"]
    if exp.problems:
        out += ["", "Harness problems:", *[f"- {_cell(m)}" for m in exp.problems[:10]]]
    if exp.faults:
        out += ["", "| fault | event | at (s) |", "| --- | --- | --- |"]
        for f in exp.faults:
            what = "applied" if f.event == "fault_applied" else "removed"
            out.append(f"| {f.fault} | {what} | {f.at - exp.start:.2f} |")
    out += ["", *_burn_context(exp)]
    out += ["", "### Evidence", ""]
    for v in exp.verdicts:
        out += _evidence(v)
    return out


def _burn_context(exp: ExperimentRecord) -> list[str]:
    # Document 000 asks every workflow to show, beside an alert, its burn rate against the
    # threshold: measured error ratio / budget next to each window condition's factor.
    measured = {m.slo: m for m in exp.measured}
    out = [
        "### Burn-rate context",
        "",
        "| alert | severity | SLO (objective) | condition | threshold | measured error ratio | measured burn rate |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a in exp.planned.alerts:
        m = measured.get(a.slo)
        e = m.error_ratio if m else None
        burn = None if e is None else e / a.budget
        for c in a.conditions:
            factor = f"{c.factor:g}x budget" if c.factor is not None else ""
            cond = " and ".join(c.windows) + (f" for {a.for_seconds:g}s" if a.for_seconds else "")
            out.append(
                f"| {a.name} | {a.severity} | {a.slo} ({a.objective:g}%) | {cond} | "
                f"{c.op} {c.threshold:.4g} ({factor}) | {_num(e)} | {_num(burn, '.3g')}x |"
            )
    return out


def _evidence(v: Verdict) -> list[str]:
    ev = v.evidence
    out = [f"- **{_cell(v.label)}**: {_MARK[v.status]}. {_cell(v.reason)}"]
    if ev.queries:
        out.append("  - queries: " + ", ".join(f"`{q}`" for q in ev.queries))
    if ev.values:
        out.append("  - values: " + ", ".join(f"{k}={_num(x)}" for k, x in ev.values.items()))
    if ev.timeline:
        start = ev.timeline[0].at
        steps = ", ".join(f"{c.state or 'inactive'} at +{c.at - start:.2f}s" for c in ev.timeline)
        out.append(f"  - alert states: {steps}")
    if ev.notifications:
        notes = ", ".join(f"{n.status} to {n.receiver}" for n in ev.notifications)
        out.append(f"  - notifications: {notes}")
    return out
