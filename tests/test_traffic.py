"""Load for real: locust subprocesses (one, or a master and workers) and the open model.

Counts from locust's stats must agree with the tiny service's own counter within 1%; the
open model must count late starts when a Toxiproxy timeout toxic freezes the service.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from sloverify.adapters.loadstats import LoadResult, Shape
from sloverify.adapters.locust import LoadOptions, run_load
from sloverify.adapters.openload import OpenOptions, OpenTraffic, run_open
from sloverify.adapters.runtime.components import RunContext, Toxiproxy
from sloverify.adapters.runtime.registry import RunDir
from sloverify.adapters.runtime.supervisor import Supervisor
from sloverify.adapters.tools import Tools
from sloverify.adapters.toxiproxy import TimeoutAttributes, Toxic, ToxiproxyClient
from tests.traffic_support import DATA, TinyService, tiny_service, tools_with_locust


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TinyService]:
    with tiny_service(tmp_path_factory.mktemp("tiny")) as svc:
        yield svc


def _load(tiny: TinyService, out: Path, **kw: object) -> tuple[LoadResult, int]:
    """Run locust and return its result and how many requests the service counted meanwhile."""
    before = tiny.handled()
    opts = LoadOptions(
        locustfile=DATA / str(kw.pop("locustfile", "locustfile.py")),
        out_dir=out,
        targets={"tiny": tiny.url},
        **kw,  # type: ignore[arg-type]
    )
    result = run_load(opts, tools_with_locust())
    return result, tiny.handled() - before


def _agree(locust: int, service: int) -> None:
    assert service > 0
    assert abs(locust - service) <= 0.01 * service, (locust, service)


def test_load_shape_counts_agree_with_the_service(tiny: TinyService, tmp_path: Path) -> None:
    # 10 min at scale 120: 5 s of 4 users holding 20 req/s together.
    result, served = _load(tiny, tmp_path, shape=Shape.LOAD, users=4, rate=20, scale=Fraction(120))
    _agree(result.total.requests, served)
    assert result.total.failures == 0
    names = {e.name: e for e in result.endpoints}
    assert set(names) == {"/items", "/health"}
    assert names["/items"].requests > names["/health"].requests  # tasks weighted 3:1
    assert 0 < result.total.p50_ms <= result.total.p95_ms <= result.total.p99_ms
    # 20 req/s for 5 s, less the ramp: the rate is what was asked, not a runaway loop.
    assert 8 < result.total.rps < 24, result.total.rps


def test_distributed_master_and_workers_count_alike(tiny: TinyService, tmp_path: Path) -> None:
    result, served = _load(
        tiny, tmp_path, shape=Shape.SPIKE, users=10, rate=40, scale=Fraction(150), workers=2
    )
    assert result.workers == 2
    _agree(result.total.requests, served)
    logs = sorted(p.name for p in tmp_path.glob("locust-*.log"))
    assert logs == ["locust-master.log", "locust-worker-0.log", "locust-worker-1.log"]


def test_stress_holds_every_step_on_a_healthy_service(tiny: TinyService, tmp_path: Path) -> None:
    result, served = _load(
        tiny, tmp_path, shape=Shape.STRESS, users=6, rate=30, scale=Fraction(240), stress_steps=3
    )
    stress = result.stress
    assert stress is not None and not stress.breached
    assert [s.users for s in stress.steps] == [2, 4, 6]
    assert all(s.held for s in stress.steps)
    assert stress.capacity_users == 6
    # The last step ran 6 users at 5 req/s each.
    assert 20 < stress.capacity_rps < 36, stress.capacity_rps
    _agree(result.total.requests, served)


def test_stress_stops_at_the_first_step_over_the_p95_limit(
    tiny: TinyService, tmp_path: Path
) -> None:
    result, _ = _load(
        tiny,
        tmp_path,
        locustfile="slow_locustfile.py",
        shape=Shape.STRESS,
        users=4,
        rate=8,
        scale=Fraction(240),
        stress_steps=4,
        max_p95_ms=100.0,
    )
    stress = result.stress
    assert stress is not None and stress.breached
    assert len(stress.steps) == 1 and not stress.steps[0].held
    assert stress.steps[0].p95_ms >= 200  # /slow sleeps 200 ms
    assert "p95" in stress.reason
    assert stress.capacity_users == 0 and stress.capacity_rps == 0
    # It stopped after the first of four steps: a quarter of the 5 s, not all of it.
    assert result.total.requests < 20


def test_open_model_counts_late_starts_when_the_service_freezes(
    tiny: TinyService, tmp_path: Path
) -> None:
    ctx = RunContext(RunDir.create(tmp_path / "runs"), Tools.load(), Fraction(1))
    with (
        Supervisor(ctx, [Toxiproxy()]) as sup,
        ToxiproxyClient(sup.component("toxiproxy").url) as tp,
    ):
        port = tiny.url.rsplit(":", 1)[1]
        proxy = tp.create_proxy("tiny", "127.0.0.1:0", f"127.0.0.1:{port}")
        # 20 starts/s with 20 slots: a healthy service needs a few (20/s x its latency);
        # frozen, every request holds its slot for the whole 2 s timeout.
        opts = OpenOptions(
            url=f"http://{proxy.listen}",
            paths=("/items",),
            rate=20,
            seconds=3.0,
            max_in_flight=20,
            max_backlog=40,
            late_tolerance=0.05,
            timeout=2.0,
        )
        healthy = run_open(opts)
        tp.add_toxic("tiny", Toxic(name="freeze", attributes=TimeoutAttributes(timeout=0)))
        frozen = run_open(opts)
    assert healthy.scheduled == frozen.scheduled == 60
    assert healthy.failures == 0 and healthy.dropped == 0, healthy
    # A loaded shared machine makes a few healthy starts late; the freeze makes most late.
    assert healthy.late <= 0.25 * healthy.scheduled, healthy
    # Frozen: the first 20 starts (one second) take every slot and hang; the starts behind
    # them keep their schedule (no coordinated omission) and wait: the second second's
    # begin about a second late when the first time out, the third second's are dropped.
    assert frozen.late >= 15, frozen
    assert frozen.late > 2 * healthy.late, (healthy, frozen)
    assert frozen.dropped >= 10, frozen
    assert frozen.started + frozen.dropped == frozen.scheduled
    assert frozen.timeouts == frozen.completed == frozen.started
    assert frozen.max_lateness_ms > 500, frozen
    assert frozen.scheduled_p95_ms > frozen.service_p95_ms + 500, frozen


def test_an_experiments_open_load_runs_until_stopped_over_every_url(tiny: TinyService) -> None:
    # The experiment's fixed-rate load: a bound far past the run, ended by stop(), round
    # robin over absolute URLs (the stopgap's GETs, possibly on several services).
    before_items, before_health = tiny.handled("/items"), tiny.handled("/health")
    traffic = OpenTraffic([f"{tiny.url}/items", f"{tiny.url}/health"], rate=40, max_seconds=600)
    traffic.start()
    traffic.start()  # a second start (warm-up, then the engine's) does not double the load
    for _ in range(100):  # bounded: until 20 requests were served, at most ~10 s
        served = tiny.handled("/items") - before_items + tiny.handled("/health") - before_health
        if served >= 20:  # both paths: round robin may have served /items first (10 + 9)
            break
        time.sleep(0.1)
    traffic.stop()
    result = traffic.result
    assert result is not None, "the load did not end within its stop"
    assert result.scheduled == 40 * 600
    assert 20 <= result.started < 1000, result  # it stopped long before its bound
    assert result.failures == 0 and result.completed == result.started, result
    items = tiny.handled("/items") - before_items
    health = tiny.handled("/health") - before_health
    assert items + health == result.started, (items, health, result)
    assert abs(items - health) <= 1, (items, health)
