"""The JSON report: the run's status, each experiment's measurements and verdicts with evidence."""

from __future__ import annotations

import json

from sloverify.reports.record import RunRecord


def render_json(run: RunRecord) -> str:
    """The JSON document."""
    doc = {
        "run_id": run.started.run_id if run.started else None,
        "status": run.status.value,
        "experiments": [
            {
                "name": e.name,
                "stack": e.planned.stack,
                "file": e.planned.file,
                "time_scale": e.planned.scale,
                "status": e.status.value,
                "aborted": e.finished.aborted if e.finished else "the journal ends here",
                "fault_start": e.finished.fault_start if e.finished else None,
                "fault_end": e.finished.fault_end if e.finished else None,
                "measured": [m.model_dump(mode="json") for m in e.measured],
                "verdicts": [v.model_dump(mode="json") for v in e.verdicts],
                "problems": e.problems,
            }
            for e in run.experiments
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
