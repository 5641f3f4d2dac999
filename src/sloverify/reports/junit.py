"""JUnit XML: one test suite per experiment, one test case per expectation.

A failed verdict is a ``<failure>``; an inconclusive one an ``<error type="inconclusive">``, so
CI never counts it as passed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sloverify.reports.record import RunRecord
from sloverify.verdicts.model import Status


def render_junit(run: RunRecord) -> str:
    """The JUnit XML document."""
    root = ET.Element("testsuites", name="sloverify chaos")
    for exp in run.experiments:
        fails = sum(v.status is Status.FAIL for v in exp.verdicts)
        errors = sum(v.status is Status.INCONCLUSIVE for v in exp.verdicts)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=exp.name,
            tests=str(len(exp.verdicts)),
            failures=str(fails),
            errors=str(errors),
            file=exp.planned.file,
        )
        for v in exp.verdicts:
            case = ET.SubElement(
                suite, "testcase", classname=f"{exp.planned.stack}.{exp.name}", name=v.label
            )
            body = v.evidence.model_dump_json(indent=2)
            if v.status is Status.FAIL:
                ET.SubElement(case, "failure", message=v.reason, type="fail").text = body
            elif v.status is Status.INCONCLUSIVE:
                ET.SubElement(case, "error", message=v.reason, type="inconclusive").text = body
            else:
                ET.SubElement(case, "system-out").text = v.reason
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
