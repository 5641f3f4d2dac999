"""Each stack's scenario and synthetic file, for real, against the running stack.

One bring-up per stack (the fixture is parametrized by stack, module-scoped: pytest runs one
stack's tests, tears it down, then starts the next). Short runs of the stack's locustfile in
two shapes each (all four shapes over the four stacks), then a few rounds of its probes;
what locust and the probes say they sent must agree with what the services' own Prometheus
counters say they served, per endpoint, within 1% on these healthy runs.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sloverify._exceptions import ToolNotFound
from sloverify.adapters.loadstats import LoadResult, Shape
from sloverify.adapters.locust import SCENARIOS, LoadOptions, run_load
from sloverify.adapters.probe_scheduler import ProbeScheduler
from sloverify.adapters.probes import Result, plan
from sloverify.adapters.runtime.stackrun import StackRun
from sloverify.spec.synthetic import ApiProbe, JourneyProbe, UptimeProbe, load_synthetic
from tests.conftest import BOOTSTRAP, ROOT
from tests.traffic_support import tools_with_locust

SCALE = Fraction(60)
Endpoint = tuple[str, str]  # (method, path): the service's labels and locust's entry names


@dataclass(frozen=True)
class Case:
    """A stack's HTTP services, the counter they count requests with, and the shapes to run."""

    stack: str
    services: tuple[str, ...]
    counter: str  # a counter family (without _total) labelled method, path and a code
    code: str
    shapes: tuple[Shape, Shape]


CASES = {
    "maestro": Case("maestro", ("maestro-api",), "http_requests", "code", (Shape.LOAD, Shape.STRESS)),
    "agentmesh": Case(
        "agentmesh",
        ("agentmesh-api-production", "agentmesh-api-preview"),
        "http_requests",
        "code",
        (Shape.SPIKE, Shape.STRESS),  # document 002's spike and stress tests
    ),
    "ca3": Case("ca3", ("processor",), "starlette_requests", "status_code", (Shape.ENDURANCE, Shape.LOAD)),
    "dvt": Case("dvt", ("dvt-engine",), "dvt_api_requests", "code", (Shape.LOAD, Shape.SPIKE)),
}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


@pytest.fixture(scope="module")
def run(case: Case, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackRun]:
    root = tmp_path_factory.mktemp(f"runs-{case.stack}")
    try:
        with StackRun.start(case.stack, SCALE, runs_root=root) as r:
            yield r
    except ToolNotFound as exc:
        pytest.fail(f"{exc}: {BOOTSTRAP}")


@dataclass(frozen=True)
class Served:
    """One service's own counts, per endpoint: all requests, and those answered 4xx/5xx."""

    requests: Counter[Endpoint]
    failures: Counter[Endpoint]


def served(run: StackRun, case: Case, service: str) -> Served:
    """Read a service's request counter from its own /metrics."""
    text = httpx.get(f"{run.url(service)}/metrics", timeout=5.0, trust_env=False).text
    requests: Counter[Endpoint] = Counter()
    failures: Counter[Endpoint] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name != case.counter:
            continue
        for s in family.samples:
            if s.name != f"{case.counter}_total":
                continue
            key = (s.labels["method"], s.labels["path"])
            requests[key] += int(s.value)
            if int(s.labels[case.code]) >= 400:
                failures[key] += int(s.value)
    return Served(requests, failures)


def served_all(run: StackRun, case: Case) -> Served:
    """Every HTTP service of the stack together (agentmesh's two deployments share paths)."""
    requests: Counter[Endpoint] = Counter()
    failures: Counter[Endpoint] = Counter()
    for service in case.services:
        one = served(run, case, service)
        requests.update(one.requests)
        failures.update(one.failures)
    return Served(requests, failures)


def _delta(after: Counter[Endpoint], before: Counter[Endpoint]) -> Counter[Endpoint]:
    return Counter({k: after[k] - before[k] for k in after if after[k] - before[k]})


def _agree(ours: int, theirs: int) -> bool:
    return abs(ours - theirs) <= 0.01 * theirs


def _load(run: StackRun, case: Case, shape: Shape, out: Path) -> LoadResult:
    """A short run of the stack's scenario: 5 s (5 min of logical time at k=60)."""
    opts = LoadOptions(
        locustfile=SCENARIOS / case.stack / "locustfile.py",
        shape=shape,
        out_dir=out,
        users=4,
        rate=24,
        scale=SCALE,
        base_seconds=300,
        targets={s: run.url(s) for s in case.services},
        stress_steps=2,
        max_p95_ms=2000,  # a healthy stack on a busy 2-core machine: only a real stall breaks
    )
    return run_load(opts, tools_with_locust())


@pytest.mark.parametrize("which", [0, 1], ids=["first-shape", "second-shape"])
def test_scenario_counts_agree_with_the_services_own_metrics(
    run: StackRun, case: Case, which: int, tmp_path: Path
) -> None:
    shape = case.shapes[which]
    before = served_all(run, case)
    result = _load(run, case, shape, tmp_path)
    after = served_all(run, case)
    # starlette_exporter counts Prometheus's scrapes of /metrics (and ours): not locust's.
    requests = _delta(after.requests, before.requests)
    requests.pop(("GET", "/metrics"), None)
    failures = _delta(after.failures, before.failures)
    ours = {(e.method, e.name): e for e in result.endpoints}
    print(f"{case.stack} {shape.value}: locust {result.total.requests}, served {requests.total()}")
    for key in sorted(requests):
        print(
            f"  {key[0]} {key[1]}: locust {ours[key].requests if key in ours else 0}, served {requests[key]}"
        )
    # Every request locust counted went to an endpoint the service knows, and nowhere else.
    assert set(ours) == set(requests), (sorted(ours), sorted(requests))
    for key, e in ours.items():
        assert _agree(e.requests, requests[key]), (key, e.requests, requests[key])
        assert e.failures == failures[key] == 0, (key, e.failures, failures[key])
    assert _agree(result.total.requests, requests.total())
    assert result.total.requests > 20
    if shape is Shape.STRESS:
        stress = result.stress
        assert stress is not None and [s.users for s in stress.steps] == [2, 4]
        assert not stress.breached, stress.reason
        assert stress.capacity_users == 4 and stress.capacity_rps > 0


def _requests_per_attempt(probe: object) -> int:
    if isinstance(probe, UptimeProbe | ApiProbe):
        return 1
    if isinstance(probe, JourneyProbe):
        return len(probe.steps)
    return 0  # a database probe goes to the store, not to a service


def _api_requests(run: StackRun, case: Case, service: str) -> int:
    counts = served(run, case, service).requests
    return counts.total() - counts[("GET", "/metrics")]  # scrapes, counted by ca3's exporter


def test_probe_rounds_all_succeed_and_every_request_is_served(run: StackRun, case: Case) -> None:
    loaded = load_synthetic(ROOT / "synthetic" / f"{case.stack}.yaml")
    targets = {c.name: c.url for c in run.supervisor.run_state.components if c.url}
    scheduler = ProbeScheduler(plan(loaded, targets, SCALE))
    kinds = {p.schedule.probe.kind for p in scheduler.plan.probes}
    assert {k.value for k in kinds} == {"uptime", "api", "db", "journey"}
    before = {s: _api_requests(run, case, s) for s in case.services}
    # Intervals of 60 s at k=60: a round a second; 3.5 s is three or four rounds per probe.
    asyncio.run(scheduler.run(max_seconds=3.5))
    after = {s: _api_requests(run, case, s) for s in case.services}
    attempts = Counter[str]()
    for (probe, result), n in scheduler.counts.items():
        assert result is Result.SUCCESS, (probe, result, scheduler.last[probe].detail)
        attempts[probe] += n
    assert all(3 <= n <= 4 for n in attempts.values()), attempts
    assert set(attempts) == {p.name for p in scheduler.plan.probes}
    sent = Counter[str]()
    for p in scheduler.plan.probes:
        sent[p.schedule.probe.target] += attempts[p.name] * _requests_per_attempt(p.schedule.probe)
    for s in case.services:
        assert after[s] - before[s] == sent[s], (s, after[s] - before[s], sent[s])
