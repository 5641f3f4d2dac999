"""Start components in dependency order, watch them, restart the crashed, stop them all.

Components whose dependencies are ready start together (Kafka's ten seconds overlap the rest).
A crashed component is restarted with exponential back-off, and every restart is counted in
``sloverify_component_restarts_total``. Stopping goes in reverse order, and happens on every
exit path of the ``with`` block: an exception, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from wsgiref.simple_server import WSGIServer

import httpx
from prometheus_client import CollectorRegistry, Counter, start_http_server

from sloverify._exceptions import ComponentFailed, HarnessError, Unreachable
from sloverify.adapters.faults import FaultInjector, FaultLedger
from sloverify.adapters.runtime.components import Component, RunContext
from sloverify.adapters.runtime.config import ScrapeJob
from sloverify.adapters.runtime.ports import free_port
from sloverify.adapters.runtime.process import ManagedProcess, PidRecord
from sloverify.adapters.runtime.registry import ComponentState, RunState, Status
from sloverify.adapters.watchdog import WatchdogHandle, start_watchdog

Clock = Callable[[], float]


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``first`` doubling up to ``limit``; reset after ``stable`` seconds ready."""

    first: float = 0.5
    limit: float = 10.0
    stable: float = 30.0

    def delay(self, attempt: int) -> float:
        """The delay before restart number ``attempt`` (1-based)."""
        return float(min(self.limit, self.first * 2.0 ** max(0, attempt - 1)))


class _Slot:
    """A component with its process and supervision state."""

    def __init__(self, component: Component, process: ManagedProcess) -> None:
        self.component = component
        self.process = process
        self.state = ComponentState(
            component.name, component.url, component.ports, external=component.external
        )
        self.attempt = 0
        self.restart_at = 0.0
        self.ready_since = 0.0


class Supervisor:
    """Runs a set of components for one run folder."""

    def __init__(
        self,
        ctx: RunContext,
        components: Sequence[Component],
        registry: CollectorRegistry | None = None,
        backoff: Backoff = Backoff(),
        clock: Clock = time.monotonic,
        metrics_port: int | None = None,
        on_change: Callable[[RunState], None] | None = None,
        keep_data: bool = False,
    ) -> None:
        self.ctx = ctx
        self._order = _ordered(components)
        self._backoff = backoff
        self._clock = clock
        self._registry = registry or CollectorRegistry()
        self.restarts = Counter(
            "sloverify_component_restarts",
            "Times the supervisor restarted a crashed component.",
            ["component"],
            registry=self._registry,
        )
        # The same restarts under kube-state-metrics' name, for the services that declare a pod
        # (document 004's restart SLO reads it); every declared pod starts at 0.
        self.kube_restarts = Counter(
            "kube_pod_container_status_restarts",
            "Restarts of a stack service, named as kube-state-metrics names pod restarts.",
            ["namespace", "pod", "container"],
            registry=self._registry,
        )
        for c in components:
            if c.kube is not None:
                self.kube_restarts.labels(*c.kube)
        self.metrics_port = metrics_port or free_port()
        self._on_change = on_change
        self._keep_data = keep_data
        self._slots = {
            c.name: _Slot(c, ManagedProcess(c.name, [], ctx.run.log(c.name), ctx.run.pid(c.name)))
            for c in self._order
        }
        self._metrics_server: WSGIServer | None = None
        self._watchdog: WatchdogHandle | None = None
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None
        self.run_state = RunState(
            ctx.run.id, time.time(), str(ctx.scale), [s.state for s in self._slots.values()]
        )
        ctx.peers.update({c.name: c for c in self._order})
        ctx.scrape_jobs.append(ScrapeJob("sloverify", (f"127.0.0.1:{self.metrics_port}",)))

    def component(self, name: str) -> Component:
        """A supervised component by name."""
        return self._slots[name].component

    def log_tail(self, name: str) -> str:
        """The end of a component's log."""
        return self._slots[name].process.log_tail()

    def process(self, name: str) -> PidRecord | None:
        """The pid record of a component's current process (None before it started)."""
        return self._slots[name].process.record

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def ledger(self) -> Path:
        """The run's fault ledger: every fault is recorded here before it is applied."""
        return self.ctx.run.path / "faults.jsonl"

    def faults(self) -> FaultInjector:
        """An injector writing to this run's ledger, watched by this run's watchdog."""
        return FaultInjector(FaultLedger(self.ledger))

    def start(self, timeout_scale: float = 1.0) -> None:
        """Start everything, wave by wave; on failure stop what started and raise."""
        PidRecord("controller", *_self_identity()).write(self.ctx.run.controller_file)
        # The dead-man switch first: if we are SIGKILLed or freeze, it removes every fault.
        self._watchdog = start_watchdog(self.ledger)
        self._metrics_server, _ = start_http_server(
            self.metrics_port, addr="127.0.0.1", registry=self._registry
        )
        try:
            for wave in _waves(self._order):
                for c in wave:
                    if not c.external:
                        self._launch(self._slots[c.name])
                self._await_ready(wave, timeout_scale)
        except BaseException as exc:
            self.run_state.error = str(exc)
            self.stop()
            raise
        self.run_state.ready = True
        self._publish()
        self._monitor = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._monitor.start()

    def stop(self) -> None:
        """Remove every fault, then stop every component in reverse order; idempotent."""
        self._stopping.set()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=5)
        self._roll_back()
        for slot in reversed(list(self._slots.values())):
            slot.process.stop()
            slot.state.status = Status.STOPPED
        if not self._keep_data:
            # Databases and TSDB go; logs, config, state, notifications and the ledger stay.
            for slot in self._slots.values():
                if not slot.component.external:
                    slot.component.cleanup(self.ctx)
            shutil.rmtree(self.ctx.run.path / "data", ignore_errors=True)
        self.run_state.ready = False
        self._publish()
        server, self._metrics_server = self._metrics_server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        self.ctx.run.controller_file.unlink(missing_ok=True)

    def _roll_back(self) -> None:
        # Faults go before Toxiproxy does: a fault must never outlive the run that made it.
        if not self.ledger.exists():
            return
        injector = self.faults()
        try:
            injector.rollback_all()
        except HarnessError as exc:  # left for the watchdog, which stop() wakes without STOP
            self.run_state.error = str(exc)
        finally:
            injector.close()

    def restart(self, name: str, between: Callable[[], None] | None = None) -> None:
        """Stop one component, run ``between`` (it is down then), start it and wait until ready.

        Not counted as a crash restart. Used to write into a component's data while it is
        stopped (Prometheus's TSDB, for backfilled history).
        """
        with self._lock:
            slot = self._slots[name]
            slot.process.stop()
            slot.state.status = Status.STARTING
            self._publish()
            if between is not None:
                between()
            self._launch(slot)
            self._await_ready([slot.component], 1.0)

    def update_rules(self, rule_files: Sequence[Path]) -> None:
        """Replace the rules Prometheus loads, and make it (and Alertmanager) reload."""
        with self._lock:
            self.ctx.rule_files[:] = list(rule_files)
            for name in ("alertmanager", "prometheus"):
                slot = self._slots.get(name)
                if slot is None or slot.component.external:
                    continue
                slot.component.prepare(self.ctx)  # rewrites config and the rule folder
                reload = getattr(slot.component, "reload", None)
                if reload is not None:
                    try:
                        reload()
                    except httpx.HTTPError as exc:
                        raise ComponentFailed(
                            name,
                            f"did not reload: {exc}",
                            ["POST /-/reload"],
                            slot.process.log_tail(),
                        ) from exc

    def __enter__(self) -> Supervisor:
        self._previous = signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_exit)
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.stop()
        finally:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, self._previous)

    # --- internals ------------------------------------------------------------------------

    def _launch(self, slot: _Slot) -> None:
        launch = slot.component.prepare(self.ctx)
        slot.process = ManagedProcess(
            slot.component.name,
            launch.command,
            self.ctx.run.log(slot.component.name),
            self.ctx.run.pid(slot.component.name),
            env=launch.env,
            cwd=launch.cwd,
        )
        slot.state.log = str(slot.process.log_path)
        slot.process.start()

    def _await_ready(self, wave: Sequence[Component], timeout_scale: float) -> None:
        pending = {c.name: self._clock() + c.ready_timeout * timeout_scale for c in wave}
        while pending:
            for name, deadline in list(pending.items()):
                slot = self._slots[name]
                if slot.component.external:
                    if slot.component.ready():
                        slot.state.status = Status.READY
                        del pending[name]
                    elif self._clock() > deadline:
                        raise Unreachable(slot.component.url, "not ready")
                    continue
                code = slot.process.exit_code()
                if code is not None:
                    raise ComponentFailed(
                        name,
                        f"exited with code {code} while starting",
                        list(slot.process.command),
                        slot.process.log_tail(),
                    )
                if slot.component.ready():
                    slot.state.status = Status.READY
                    slot.ready_since = self._clock()
                    del pending[name]
                    self._publish()
                elif self._clock() > deadline:
                    raise ComponentFailed(
                        name,
                        f"was not ready within {slot.component.ready_timeout * timeout_scale:g}s",
                        list(slot.process.command),
                        slot.process.log_tail(),
                    )
            time.sleep(0.1)

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            with self._lock:
                for slot in self._slots.values():
                    self._tend(slot)

    def _tend(self, slot: _Slot) -> None:
        if slot.component.external:
            return  # not ours to restart
        now = self._clock()
        state = slot.state
        if state.status is Status.READY and not slot.process.running():
            slot.attempt = slot.attempt + 1 if now - slot.ready_since < self._backoff.stable else 1
            slot.restart_at = now + self._backoff.delay(slot.attempt)
            state.status = Status.RESTARTING
            self._publish()
        elif state.status is Status.RESTARTING and now >= slot.restart_at:
            try:
                self._launch(slot)
            except ComponentFailed as exc:
                state.status = Status.FAILED
                self.run_state.error = str(exc)
                self._publish()
                return
            state.restarts += 1
            self.restarts.labels(slot.component.name).inc()
            if slot.component.kube is not None:
                self.kube_restarts.labels(*slot.component.kube).inc()
            state.status = Status.STARTING
            self._publish()
        elif state.status is Status.STARTING and slot.process.running() and slot.component.ready():
            state.status = Status.READY
            slot.ready_since = now
            self._publish()
        elif state.status is Status.STARTING and not slot.process.running():
            slot.attempt += 1
            slot.restart_at = now + self._backoff.delay(slot.attempt)
            state.status = Status.RESTARTING
            self._publish()

    def _publish(self) -> None:
        self.ctx.run.write_state(self.run_state)
        if self._on_change is not None:
            self._on_change(self.run_state)


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _self_identity() -> tuple[int, int, float, tuple[str, ...]]:
    import os
    import sys

    import psutil

    me = psutil.Process()
    return os.getpid(), os.getpgid(0), me.create_time(), tuple(sys.argv)


def _ordered(components: Sequence[Component]) -> list[Component]:
    return [c for wave in _waves(components) for c in wave]


def _waves(components: Sequence[Component]) -> list[list[Component]]:
    """Topological levels: each wave depends only on earlier waves."""
    names = {c.name for c in components}
    done: set[str] = set()
    left = list(components)
    waves: list[list[Component]] = []
    while left:
        wave = [c for c in left if all(d in done or d not in names for d in c.depends_on)]
        if not wave:
            raise ValueError(f"dependency cycle among {', '.join(c.name for c in left)}")
        waves.append(wave)
        done.update(c.name for c in wave)
        left = [c for c in left if c.name not in done]
    return waves
