"""Render a run folder's journal in one of the report formats."""

from __future__ import annotations

from enum import StrEnum

from sloverify.engine.events import Event
from sloverify.reports.html import render_html
from sloverify.reports.json_report import render_json
from sloverify.reports.junit import render_junit
from sloverify.reports.markdown import render_markdown
from sloverify.reports.record import fold


class Format(StrEnum):
    """Report formats, with their file names."""

    MD = "md"
    JUNIT = "junit"
    JSON = "json"
    HTML = "html"

    @property
    def filename(self) -> str:
        """The report's file name in the run folder."""
        return {
            "md": "report.md",
            "junit": "junit.xml",
            "json": "report.json",
            "html": "report.html",
        }[self.value]


def render(events: tuple[Event, ...], fmt: Format) -> str:
    """One report from a journal's events."""
    run = fold(events)
    renderer = {
        Format.MD: render_markdown,
        Format.JUNIT: render_junit,
        Format.JSON: render_json,
        Format.HTML: render_html,
    }[fmt]
    return renderer(run)
