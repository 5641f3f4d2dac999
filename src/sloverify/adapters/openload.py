"""The open model: requests start at a fixed arrival rate, whatever the service answers.

Locust's users are a closed model: a user waits for its answer before its next request, so a
stalled service receives fewer requests and its latency looks better than users see it
(coordinated omission). Here start ``i`` is due at ``t0 + i / rate``. At most ``max_in_flight``
requests run at once; a due start that finds them all busy waits in a bounded backlog. It is
**late** when it begins more than ``late_tolerance`` after its schedule, and **dropped** when
the backlog is full (it never begins). Latency is measured from the schedule as well as from
the actual start, so a stall shows in both counts and percentiles.

asyncio and httpx, in sloverify's own process: no gevent, and the counts are ours to type.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from sloverify.adapters.background import BackgroundLoad
from sloverify.adapters.loadstats import OpenModelResult


@dataclass(frozen=True)
class OpenOptions:
    """One open-model run against a base URL."""

    url: str
    paths: Sequence[str] = ("/health",)
    rate: float = 20.0  # starts per second
    seconds: float = 10.0
    max_in_flight: int = 50
    max_backlog: int = 100
    late_tolerance: float = 0.05  # seconds
    timeout: float = 5.0  # per request: refsvc.CLIENT_TIMEOUT


@dataclass
class _Tally:
    started: int = 0
    late: int = 0
    dropped: int = 0
    completed: int = 0
    failures: int = 0
    timeouts: int = 0
    waiting: int = 0
    closed: bool = False
    service: list[float] = field(default_factory=list)
    from_schedule: list[float] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)


def run_open(opts: OpenOptions, stop: threading.Event | None = None) -> OpenModelResult:
    """Run the open model to its end or to ``stop`` (bounded: ``seconds`` plus one timeout)."""
    return asyncio.run(_run(opts, stop or threading.Event()))


async def _run(opts: OpenOptions, stop: threading.Event) -> OpenModelResult:
    loop = asyncio.get_running_loop()
    tally, slots = _Tally(), asyncio.Semaphore(opts.max_in_flight)
    total = max(1, int(opts.rate * opts.seconds))
    paths = itertools.cycle(opts.paths)
    tasks: set[asyncio.Task[None]] = set()
    # One connection per request (no keep-alive): a fault on a proxy applies per request.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=opts.url, timeout=opts.timeout, trust_env=False, limits=limits
    ) as client:
        t0 = loop.time() + 0.05
        began = time.monotonic()
        for i in range(total):
            due = t0 + i / opts.rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            if stop.is_set():
                break
            if tally.waiting >= opts.max_backlog:
                tally.dropped += 1
                continue
            task = asyncio.create_task(_request(client, next(paths), due, opts, slots, tally))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        # The schedule is over: starts still waiting for a slot would begin outside the run,
        # so they are dropped; requests under way end within their own timeout.
        tally.closed = True
        if tasks:
            await asyncio.wait(tasks, timeout=opts.timeout + 1.0)
        elapsed = time.monotonic() - began
    return OpenModelResult(
        rate=opts.rate,
        seconds=opts.seconds,
        scheduled=total,
        started=tally.started,
        late=tally.late,
        dropped=tally.dropped,
        completed=tally.completed,
        failures=tally.failures,
        timeouts=tally.timeouts,
        achieved_rps=tally.started / max(elapsed, 1e-9),
        service_p50_ms=_pct(tally.service, 0.50),
        service_p95_ms=_pct(tally.service, 0.95),
        service_p99_ms=_pct(tally.service, 0.99),
        scheduled_p50_ms=_pct(tally.from_schedule, 0.50),
        scheduled_p95_ms=_pct(tally.from_schedule, 0.95),
        scheduled_p99_ms=_pct(tally.from_schedule, 0.99),
        max_lateness_ms=max(tally.lateness, default=0.0) * 1000,
    )


async def _request(
    client: httpx.AsyncClient,
    path: str,
    due: float,
    opts: OpenOptions,
    slots: asyncio.Semaphore,
    tally: _Tally,
) -> None:
    loop = asyncio.get_running_loop()
    waited = slots.locked()  # every slot busy: this start waits in the backlog
    tally.waiting += 1
    try:
        await slots.acquire()
    finally:
        tally.waiting -= 1
    try:
        if waited and tally.closed:
            tally.dropped += 1
            return
        start = loop.time()
        tally.started += 1
        tally.lateness.append(start - due)
        if start - due > opts.late_tolerance:
            tally.late += 1
        try:
            r = await client.get(path)
            ok = r.status_code < 400
        except httpx.TimeoutException:
            tally.timeouts += 1
            ok = False
        except httpx.HTTPError:
            ok = False
        end = loop.time()
        tally.completed += 1
        tally.failures += not ok
        tally.service.append(end - start)
        tally.from_schedule.append(end - due)
    finally:
        slots.release()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


class OpenTraffic(BackgroundLoad):
    """An experiment's open-model load in a background thread, from ``start`` to ``stop``."""

    def __init__(self, urls: Sequence[str], rate: float, max_seconds: float) -> None:
        # Absolute URLs as paths: httpx sends an absolute URL as is, past the base URL.
        self.options = OpenOptions(url=urls[0], paths=tuple(urls), rate=rate, seconds=max_seconds)
        self.result: OpenModelResult | None = None
        # stop waits for the requests under way: one request timeout.
        super().__init__("sloverify-open", join_timeout=self.options.timeout + 5.0)

    def _work(self, stop: threading.Event) -> None:
        self.result = run_open(self.options, stop)
