"""Console tables for load runs (locust, open model) and synthetic probe results."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from sloverify.adapters.loadstats import EndpointStats, LoadResult, OpenModelResult, StressResult
from sloverify.adapters.probes import Attempt, Result


def load_table(result: LoadResult) -> Table:
    """Per endpoint and in total: requests, failures, percentiles, achieved rate."""
    workers = f", {result.workers} workers" if result.workers else ""
    t = Table(title=f"{result.shape.value} shape, {result.seconds:.3g}s{workers}")
    for col in ("endpoint", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "req/s"):
        t.add_column(col, justify="left" if col == "endpoint" else "right")
    for e in (*result.endpoints, result.total):
        name = f"{e.method} {e.name}".strip()
        t.add_row(name, *_numbers(e), style="bold" if e is result.total else None)
    return t


def _numbers(e: EndpointStats) -> list[str]:
    return [
        str(e.requests),
        f"{e.failures} ({e.failure_ratio:.2%})",
        f"{e.p50_ms:.0f}",
        f"{e.p95_ms:.0f}",
        f"{e.p99_ms:.0f}",
        f"{e.rps:.1f}",
    ]


def stress_table(stress: StressResult) -> Table:
    """Each step of a stress run and whether it held; the caption gives the capacity."""
    verdict = f"broke: {stress.reason}" if stress.breached else "every step held"
    t = Table(
        title="stress steps",
        caption=f"capacity: {stress.capacity_users} users, {stress.capacity_rps:.1f} req/s ({verdict})",
    )
    for col in ("users", "requests", "failure ratio", "p95 ms", "req/s", "held"):
        t.add_column(col, justify="right")
    for s in stress.steps:
        t.add_row(
            str(s.users),
            str(s.requests),
            f"{s.failure_ratio:.4f}",
            f"{s.p95_ms:.0f}",
            f"{s.rps:.1f}",
            "yes" if s.held else "[red]no[/red]",
        )
    return t


def open_table(r: OpenModelResult) -> Table:
    """The open model's starts (late, dropped) and latency from schedule and from start."""
    t = Table(title=f"open model: {r.rate:g} starts/s for {r.seconds:.3g}s")
    t.add_column("measure")
    t.add_column("value", justify="right")
    rows = [
        ("scheduled", str(r.scheduled)),
        ("started", str(r.started)),
        ("late starts", str(r.late)),
        ("dropped starts", str(r.dropped)),
        ("failures (of which timeouts)", f"{r.failures} ({r.timeouts})"),
        ("achieved starts/s", f"{r.achieved_rps:.1f}"),
        (
            "service p50/p95/p99 ms",
            f"{r.service_p50_ms:.0f} / {r.service_p95_ms:.0f} / {r.service_p99_ms:.0f}",
        ),
        (
            "from schedule p50/p95/p99 ms",
            f"{r.scheduled_p50_ms:.0f} / {r.scheduled_p95_ms:.0f} / {r.scheduled_p99_ms:.0f}",
        ),
        ("max lateness ms", f"{r.max_lateness_ms:.0f}"),
    ]
    for k, v in rows:
        t.add_row(k, v)
    return t


def probe_table(attempts: Sequence[Attempt], title: str) -> Table:
    """One row per attempt: probe, kind, result, duration and why it failed."""
    t = Table(title=title)
    for col in ("probe", "kind", "result", "ms", "detail"):
        t.add_column(col, justify="right" if col == "ms" else "left")
    for a in attempts:
        style = "green" if a.result is Result.SUCCESS else "red"
        t.add_row(
            a.probe,
            a.kind.value,
            f"[{style}]{a.result.value}[/{style}]",
            f"{a.duration * 1000:.0f}",
            a.detail,
        )
    return t


def probe_counts_table(counts: dict[tuple[str, Result], int], title: str) -> Table:
    """Attempts per probe by result."""
    t = Table(title=title)
    t.add_column("probe")
    for r in Result:
        t.add_column(r.value, justify="right")
    for probe in sorted({p for p, _ in counts}):
        t.add_row(probe, *(str(counts.get((probe, r), 0)) for r in Result))
    return t
