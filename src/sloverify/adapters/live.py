"""The engine's ports on a live StackRun: Prometheus, the webhook's notifications, the fault ledger.

Experiment faults (spec models) are converted here into the adapters' own: Toxiproxy toxics, a
disabled proxy, and process faults on the supervisor's processes. Traffic is a stopgap until
the locust runner (issue 5) lands: a bounded thread of GETs on the spec's parameterless GET
endpoints, one fresh connection per request (Toxiproxy decides toxicity per connection).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import httpx

from sloverify._exceptions import HarnessError, InputError
from sloverify.adapters.clock import SystemClock
from sloverify.adapters.faults import Fault
from sloverify.adapters.locust_traffic import LocustTraffic, scenario_file
from sloverify.adapters.openload import OpenTraffic
from sloverify.adapters.prometheus import PrometheusClient, finite
from sloverify.adapters.runtime.stackrun import StackRun, synthetic_file
from sloverify.adapters.toxiproxy import ATTRIBUTES, Stream, Toxic, ToxicType
from sloverify.engine.events import StackStage
from sloverify.engine.ports import Ports
from sloverify.spec.experiment import (
    CpuHogFault,
    FaultSpec,
    KillFault,
    MemoryHogFault,
    PauseFault,
    ProxyDisabledFault,
    ToxicFault,
)
from sloverify.verdicts.model import AlertState, Notification, NotificationStatus, SeenAlert
from sloverify.verdicts.plan import Plan

_MAX_REQUESTS = 200_000  # a hard bound on the stopgap load, whatever the experiment's length


def to_toxic(fault: ToxicFault) -> Toxic:
    """The Toxiproxy toxic of an experiment's toxic fault."""
    kind = ToxicType(fault.toxic.type)
    attributes = ATTRIBUTES[kind].model_validate(fault.toxic.model_dump(exclude={"type"}))
    return Toxic(
        name=f"sloverify-{fault.name}",
        attributes=attributes,
        stream=Stream(fault.stream.value),
        toxicity=fault.toxicity,
    )


class StackMetrics:
    """Metrics and Alerts on a Prometheus (the run's, or any other)."""

    def __init__(self, prometheus: PrometheusClient) -> None:
        self.prometheus = prometheus

    def query(self, expr: str) -> tuple[float, ...]:
        """Values of every finite series."""
        return tuple(s.value for s in finite(self.prometheus.query(expr)))

    def active(self) -> tuple[SeenAlert, ...]:
        """Pending and firing alerts."""
        return tuple(
            SeenAlert(name=a.name, severity=a.labels.get("severity", ""), state=AlertState(a.state))
            for a in self.prometheus.alerts()
            if a.state in ("pending", "firing")
        )


class WebhookNotifications:
    """Notifications from the webhook's ``notifications.jsonl`` (one line per delivery)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def since(self, at: float) -> tuple[Notification, ...]:
        """Every alert of every delivery received at or after ``at``."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return ()
        out: list[Notification] = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line: the webhook is still writing it
            if record.get("received_at", 0) < at:
                continue
            for alert in (record.get("payload") or {}).get("alerts", []):
                labels = alert.get("labels", {})
                out.append(
                    Notification(
                        at=record["received_at"],
                        receiver=record.get("receiver", ""),
                        alert=labels.get("alertname", ""),
                        severity=labels.get("severity", ""),
                        status=NotificationStatus(alert.get("status", "firing")),
                    )
                )
        return tuple(out)


class StackFaults:
    """Faults through the run's FaultInjector (ledger first, rolled back at exit)."""

    def __init__(self, run: StackRun) -> None:
        self.run = run
        self.applied: dict[str, Fault] = {}

    def apply(self, fault: FaultSpec, scale: Fraction) -> str:
        """Apply one fault; its handle is the ledger's id."""
        inj, run = self.run.faults, self.run
        seconds = float(fault.duration.ms / 1000 / scale)
        if isinstance(fault, ToxicFault | ProxyDisabledFault) and fault.edge not in run.edges:
            known = sorted(run.edges)
            raise InputError(
                f"experiment fault {fault.name!r}: no edge {fault.edge!r}; edges: {known}"
            )
        if isinstance(fault, ToxicFault):
            applied = inj.apply_toxic(run.toxiproxy_url, fault.edge, to_toxic(fault))
        elif isinstance(fault, ProxyDisabledFault):
            applied = inj.disable_proxy(run.toxiproxy_url, fault.edge)
        elif isinstance(fault, KillFault):
            applied = inj.kill_process(run.process(fault.service))
        elif isinstance(fault, PauseFault):
            applied = inj.pause_process(run.process(fault.service))
        elif isinstance(fault, CpuHogFault):
            applied = inj.cpu_hog(run.process(fault.service), fault.cores, seconds)
        else:
            assert isinstance(fault, MemoryHogFault)
            applied = inj.memory_hog(run.process(fault.service), fault.megabytes, seconds)
        self.applied[applied.id] = applied
        return applied.id

    def remove(self, handle: str) -> None:
        """Remove one fault (a kill has nothing to undo)."""
        fault = self.applied.pop(handle, None)
        if fault is not None and any(f.id == handle for f in self.run.faults.ledger.active()):
            self.run.faults.remove(fault)

    def remove_all(self) -> None:
        """Roll back everything still in the ledger (RollbackFailed if anything stays)."""
        self.applied.clear()
        self.run.faults.rollback_all()


class HttpTraffic:
    """Stopgap load: a few threads of GETs on a few URLs until stopped (bounded in count)."""

    def __init__(self, urls: list[str], workers: int = 4, pause: float = 0.01) -> None:
        self.urls = urls
        self.workers = workers
        self.pause = pause
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.sent = 0

    def start(self) -> None:
        """Start the loop in a thread."""
        if not self.urls:
            raise HarnessError("no parameterless GET endpoint to send traffic to")
        if any(t.is_alive() for t in self._threads):
            return  # already running (since the warm-up)
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._loop, name=f"sloverify-traffic-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for t in self._threads:
            t.start()

    def _loop(self) -> None:
        while not self._stop.is_set() and self.sent < _MAX_REQUESTS:
            with self._lock:
                url = self.urls[self.sent % len(self.urls)]
                self.sent += 1
            try:
                # A new client per request: one TCP connection each, as the edges assume.
                with httpx.Client(timeout=5.0, trust_env=False) as client:
                    client.get(url)
            except httpx.HTTPError:
                pass  # a failed request is the fault at work; the SLI counts it
            time.sleep(self.pause)

    def stop(self) -> None:
        """Stop and join the thread."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        self._threads = []


def _urls(run: StackRun, plan: Plan) -> list[str]:
    urls = []
    for c in plan.claims:
        service = c.target.service
        if service not in {s.name for s in run.stack.spec.services}:
            continue
        endpoints = c.target.slo.scope.endpoints if c.target.slo.scope else ()
        for e in endpoints:
            if e.method == "GET" and "{" not in e.path:
                urls.append(run.url(service) + e.path)
    return list(dict.fromkeys(urls)) or _openapi_gets(run)


def _openapi_gets(run: StackRun) -> list[str]:
    # No endpoint scope in the spec (or its service is named otherwise in the stack): every
    # parameterless GET the stack's HTTP services document, but their health and metrics.
    urls: list[str] = []
    for service in run.stack.spec.services:
        if not (service.http and service.openapi):
            continue
        base = run.url(service.name)
        try:
            doc = httpx.get(f"{base}{service.openapi}", timeout=5.0, trust_env=False).json()
        except (httpx.HTTPError, ValueError):
            continue
        for path, operations in doc.get("paths", {}).items():
            skip = path in (service.health, service.metrics) or "{" in path
            if "get" in operations and not skip:
                urls.append(f"{base}{path}")
    return urls


def _traffic(run: StackRun, plan: Plan) -> HttpTraffic | LocustTraffic | OpenTraffic:
    """The experiment's locust scenario if it names one that exists, else GETs: at the
    experiment's fixed rate (open model) when it sets one, else the closed-loop stopgap."""
    t = plan.experiment.traffic
    locustfile = scenario_file(t.scenario) if t.scenario else None
    longest = plan.run_seconds(plan.warm_up + plan.experiment.fault_span) * 4 + 120
    if locustfile is None and t.rate is not None:
        urls = _urls(run, plan)
        if not urls:
            raise HarnessError("no parameterless GET endpoint to send traffic to")
        return OpenTraffic(urls, t.rate, longest)
    if locustfile is None:
        return HttpTraffic(_urls(run, plan))
    targets = {s.name: run.url(s.name) for s in run.stack.spec.services if s.http}
    return LocustTraffic(
        locustfile,
        targets,
        t.users,
        plan.scale,
        longest,
        run.run.path / "locust",
        run.supervisor.ctx.tools,
        rate=t.rate,
    )


@contextmanager
def live_ports(
    plan: Plan,
    runs_root: Path | None = None,
    on_stage: Callable[[StackStage], None] | None = None,
) -> Iterator[Ports]:
    """Start the experiment's stack at its time scale and yield the engine's ports on it.

    ``on_stage`` hears when the stack starts, is up, and is warm (time-to-verdict figures).
    """
    probes = [synthetic_file(name) for name in plan.experiment.traffic.probes]
    mark = on_stage or (lambda _: None)
    mark(StackStage.STARTING)
    with StackRun.start(
        plan.experiment.stack, scale=plan.scale, runs_root=runs_root, probes=probes
    ) as run:
        mark(StackStage.UP)
        metrics = StackMetrics(run.prometheus)
        traffic = _traffic(run, plan)
        # Warm-up by backfill: a short healthy baseline, then the longest history the plan's
        # alerts read is written into Prometheus, instead of waiting for it in real time.
        traffic.start()
        try:
            time.sleep(BASELINE + 1.0)
            run.warm_up(history_of(plan), BASELINE, latency=latency_thresholds(plan))
            mark(StackStage.WARM)
            yield Ports(
                clock=SystemClock(),
                metrics=metrics,
                alerts=metrics,
                notifications=WebhookNotifications(run.run.path / "notifications.jsonl"),
                faults=StackFaults(run),
                traffic=traffic,
            )
        finally:
            traffic.stop()


# Real seconds of healthy traffic whose rates the backfill extends backwards.
BASELINE = 4.0


def latency_thresholds(plan: Plan) -> dict[str, float]:
    """Each latency histogram the plan's SLOs read, with the smallest threshold on it."""
    slos = [c.target.slo for c in plan.claims] + [g.target.slo for g in plan.guards]
    slos += [c.witness.slo for c in plan.claims if c.witness is not None]
    out: dict[str, float] = {}
    for slo in slos:
        if (latency := slo.sli.latency) is not None:
            out[latency.histogram] = min(out.get(latency.histogram, math.inf), latency.threshold)
    return out


def history_of(plan: Plan) -> float:
    """Logical seconds of history the plan's alerts read: their longest window, or the period."""
    spans = [w.seconds for c in plan.claims if c.alert for w in c.alert.windows]
    spans += [c.target.slo.period.seconds for c in plan.claims]
    return max(spans, default=0.0)
