"""The probe scheduler: each probe starts on its own interval, without drift, and is counted.

Start ``n`` of a probe is due at ``t0 + offset + n * interval`` on the event loop's clock (not
"sleep one interval after the last one", which drifts by every attempt's own time). Offsets
spread the probes over the interval so a thousand probes do not start in the same
millisecond. Attempts run as tasks: a slow one never delays the next start of any probe.

Metrics, in the scheduler's own registry (served by ``sloverify synthetic serve``):
``sloverify_probe_results_total{stack,probe,kind,result}`` (every result label exists from the
start at 0, so ``rate()`` sees the first failure) and
``sloverify_probe_duration_seconds{stack,probe,kind}``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client import Counter as PromCounter

from sloverify.adapters.probes import Attempt, PlannedProbe, ProbePlan, Result, attempt

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OnAttempt = Callable[[Attempt], None]


@dataclass
class ProbeMetrics:
    """The probe counters and histogram, registered in one registry."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.results = PromCounter(
            "sloverify_probe_results",
            "Synthetic probe attempts by result (success, failure, timeout, error).",
            ["stack", "probe", "kind", "result"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "sloverify_probe_duration_seconds",
            "Synthetic probe attempt duration.",
            ["stack", "probe", "kind"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    def declare(self, stack: str, probe: PlannedProbe) -> None:
        """Create every series of a probe at 0."""
        kind = probe.schedule.probe.kind.value
        for r in Result:
            self.results.labels(stack, probe.name, kind, r.value)
        self.duration.labels(stack, probe.name, kind)

    def record(self, stack: str, a: Attempt) -> None:
        """Count one attempt."""
        self.results.labels(stack, a.probe, a.kind.value, a.result.value).inc()
        self.duration.labels(stack, a.probe, a.kind.value).observe(a.duration)


@dataclass
class ProbeScheduler:
    """Runs a plan's probes on their intervals until stopped or a time bound passes."""

    plan: ProbePlan
    metrics: ProbeMetrics = field(default_factory=ProbeMetrics)
    on_attempt: OnAttempt | None = None
    counts: Counter[tuple[str, Result]] = field(default_factory=Counter)
    lateness: list[float] = field(default_factory=list)  # start minus due time, seconds
    last: dict[str, Attempt] = field(default_factory=dict)
    heartbeat: float = 0.0  # the loop clock at the last start: /healthz reads it

    def __post_init__(self) -> None:
        for p in self.plan.probes:
            self.metrics.declare(self.plan.stack, p)

    async def run(self, stop: asyncio.Event | None = None, max_seconds: float = 3600.0) -> None:
        """Start every probe on its interval until ``stop`` is set or ``max_seconds`` pass."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        deadline = t0 + max_seconds
        n = len(self.plan.probes)
        async with _client() as client:
            tasks: set[asyncio.Task[None]] = set()
            loops = [
                asyncio.create_task(
                    self._probe_loop(p, client, t0 + p.schedule.interval * i / n, deadline, tasks)
                )
                for i, p in enumerate(self.plan.probes)
            ]
            stopper = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait([stopper, *loops], return_when=asyncio.FIRST_COMPLETED)
                if stop.is_set():
                    for t in loops:
                        t.cancel()
                await asyncio.gather(*loops, return_exceptions=True)
                # Attempts under way finish (each within its timeout) and are counted.
                await asyncio.gather(*tasks, return_exceptions=True)
            finally:
                stopper.cancel()
                for t in loops:
                    t.cancel()

    async def once(self) -> list[Attempt]:
        """One attempt of every probe, all at once."""
        now = asyncio.get_running_loop().time()
        async with _client() as client:
            done = await asyncio.gather(*(attempt(p, client, now) for p in self.plan.probes))
        for a in done:
            self._record(a)
        return list(done)

    async def _probe_loop(
        self,
        probe: PlannedProbe,
        client: httpx.AsyncClient,
        first: float,
        deadline: float,
        tasks: set[asyncio.Task[None]],
    ) -> None:
        loop, interval = asyncio.get_running_loop(), probe.schedule.interval
        due = first
        while due < deadline:
            await asyncio.sleep(max(0.0, due - loop.time()))
            now = loop.time()
            self.heartbeat = now
            self.lateness.append(now - due)
            task = asyncio.create_task(self._one(probe, client, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            due += interval
            if now - due > interval:
                # The loop was stalled for more than an interval (a frozen host): skip the
                # starts that are already past rather than firing them in a burst.
                due += interval * int((now - due) // interval)

    async def _one(self, probe: PlannedProbe, client: httpx.AsyncClient, due: float) -> None:
        self._record(await attempt(probe, client, due))

    def _record(self, a: Attempt) -> None:
        self.metrics.record(self.plan.stack, a)
        self.counts[(a.probe, a.result)] += 1
        self.last[a.probe] = a
        if self.on_attempt is not None:
            with contextlib.suppress(Exception):  # a display problem never stops the probes
                self.on_attempt(a)


def _client() -> httpx.AsyncClient:
    # No keep-alive: each attempt opens its own connection, as a fresh client would, so a
    # fault on a proxy in front of the target applies per attempt. The attempt's own
    # asyncio timeout bounds it; trust_env=False keeps HTTP_PROXY from rerouting probes.
    return httpx.AsyncClient(
        timeout=None,
        trust_env=False,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )
