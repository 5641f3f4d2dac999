"""Synthetic probes for real: the file format's located errors, the scheduler's counts against
the tiny service's own, failures of every kind counted (never retried, never a crash), and the
continuous checker's /metrics and /healthz."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import httpx
import pytest

from sloverify._exceptions import SpecError, SpecErrors
from sloverify.adapters.probe_scheduler import ProbeScheduler
from sloverify.adapters.probes import Result, json_path, plan
from sloverify.adapters.runtime.components import Postgres, RunContext
from sloverify.adapters.runtime.ports import free_port
from sloverify.adapters.runtime.registry import RunDir
from sloverify.adapters.runtime.supervisor import Supervisor
from sloverify.adapters.tools import Tools
from sloverify.spec.synthetic import load_synthetic
from tests.conftest import ROOT
from tests.traffic_support import DATA, TinyService, tiny_service

SCALE = Fraction(60)


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("probes")
    ctx = RunContext(RunDir.create(folder / "runs"), Tools.load(), SCALE)
    with tiny_service(folder) as tiny, Supervisor(ctx, [Postgres()]) as sup:
        yield {"tiny": tiny.url, "postgres": sup.component("postgres").url}


def _header(body: str) -> str:
    return "version: sloverify/v1\nkind: synthetic\nstack: t\n" + body


@pytest.mark.parametrize(
    ("body", "line", "field", "words"),
    [
        (
            "probes:\n  - {name: a, kind: uptim, target: x}\n",
            5,
            "probes[0].kind",
            "did you mean 'uptime'",
        ),
        (
            "probes:\n  - name: a\n    kind: api\n    target: x\n    expect: {statuss: 200}\n",
            8,
            "probes[0].expect.statuss",
            "did you mean 'status'",
        ),
        (
            "interval: 10s\nprobes:\n  - name: a\n    kind: uptime\n    target: x\n    timeout: 10s\n",
            9,
            "probes[0].timeout",
            "not below the interval",
        ),
        (
            "probes:\n  - {name: a, kind: db, target: postgres}\n",
            5,
            "probes[0]",
            "give either 'query' (SQL, for PostgreSQL) or 'collection'",
        ),
        (
            "probes:\n  - {name: a, kind: db, target: mongo, collection: gpu_info}\n",
            5,
            "probes[0].collection",
            "database.collection",
        ),
        (
            "probes:\n  - name: a\n    kind: api\n    target: x\n    expect: {json: [{path: items, exists: true}]}\n",
            8,
            "probes[0].expect.json[0].path",
            "JSON path",
        ),
        (
            "probes:\n  - {name: a, kind: uptime, target: x}\n  - {name: a, kind: uptime, target: y}\n",
            6,
            "probes[1].name",
            "repeats",
        ),
        (
            "interval: soon\nprobes:\n  - {name: a, kind: uptime, target: x}\n",
            4,
            "interval",
            "not a duration",
        ),
        (
            "probes:\n  - {name: a, kind: uptime, target: 'ftp://x'}\n",
            5,
            "probes[0].target",
            "http(s)://",
        ),
    ],
    ids=[
        "kind",
        "field",
        "timeout",
        "missing",
        "collection",
        "json-path",
        "duplicate",
        "duration",
        "target",
    ],
)
def test_bad_synthetic_files_are_located(
    tmp_path: Path, body: str, line: int, field: str, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(_header(body))
    with pytest.raises(SpecError) as caught:
        load_synthetic(path)
    assert caught.value.location.path == path
    assert (caught.value.location.line, caught.value.location.field) == (line, field)
    assert words in str(caught.value)


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        _header(
            "probes:\n  - {name: a, kind: uptim, target: x}\n  - {name: B, kind: uptime, target: x}\n"
        )
    )
    with pytest.raises(SpecErrors) as caught:
        load_synthetic(path)
    assert [e.location.line for e in caught.value.errors] == [5, 6]


def test_interval_and_timeout_follow_the_time_scale() -> None:
    schedules = load_synthetic(DATA / "tiny.yaml").schedules(SCALE)
    assert {(s.interval, s.timeout) for s in schedules} == {(1.0, 0.5)}


def test_unknown_targets_name_the_line() -> None:
    with pytest.raises(Exception, match=r"tiny.yaml:\d+: probes\[0\]\.target: 'tiny'"):
        plan(load_synthetic(DATA / "tiny.yaml"), {"postgres": "postgresql://x"}, SCALE)


def test_json_path() -> None:
    data = {"items": [{"id": "7"}], "n": 0}
    assert json_path(data, "$.items[0].id") == (True, "7")
    assert json_path(data, "$.n") == (True, 0)
    assert json_path(data, "$.items[1]") == (False, None)
    assert json_path(data, "$.missing.x") == (False, None)


def test_probe_counts_agree_with_the_service(targets: dict[str, str]) -> None:
    tiny = TinyService(targets["tiny"])
    before = {p: tiny.handled(p) for p in ("/health", "/items", "/items/{key}")}
    scheduler = ProbeScheduler(plan(load_synthetic(DATA / "tiny.yaml"), targets, SCALE))
    asyncio.run(scheduler.run(max_seconds=6.0))
    served = {p: tiny.handled(p) - n for p, n in before.items()}
    counts = scheduler.counts
    # Each probe starts every second on its own offset: 6 starts in 6 s, no drift, no retry.
    for probe in ("tiny-up", "tiny-items", "tiny-db", "tiny-journey"):
        assert counts[(probe, Result.SUCCESS)] == 6, dict(counts)
    assert sum(counts.values()) == 24
    assert served["/health"] == counts[("tiny-up", Result.SUCCESS)]
    # The api probe GETs /items once; the journey POSTs /items, then GETs /items/{id}.
    assert (
        served["/items"]
        == counts[("tiny-items", Result.SUCCESS)] + counts[("tiny-journey", Result.SUCCESS)]
    )
    assert served["/items/{key}"] == counts[("tiny-journey", Result.SUCCESS)]
    assert max(scheduler.lateness) < 0.5
    text = _metrics(scheduler)
    assert (
        'sloverify_probe_results_total{kind="uptime",probe="tiny-up",result="success",stack="tiny"} 6.0'
        in text
    )
    assert (
        'sloverify_probe_results_total{kind="uptime",probe="tiny-up",result="error",stack="tiny"} 0.0'
        in text
    )
    assert (
        'sloverify_probe_duration_seconds_count{kind="db",probe="tiny-db",stack="tiny"} 6.0' in text
    )


def _metrics(scheduler: ProbeScheduler) -> str:
    from prometheus_client import generate_latest

    return generate_latest(scheduler.metrics.registry).decode()


def test_every_failure_is_counted_once_by_its_reason(
    tmp_path: Path, targets: dict[str, str]
) -> None:
    path = tmp_path / "failing.yaml"
    path.write_text(
        _header(
            "interval: 60s\ntimeout: 50s\nprobes:\n"
            "  - {name: wrong-status, kind: uptime, target: tiny, path: /nowhere}\n"
            "  - {name: wrong-body, kind: api, target: tiny, path: /items, expect: {json: [{path: $.service, equals: other}]}}\n"
            "  - {name: too-slow, kind: api, target: tiny, path: /slow, timeout: 6s}\n"
            "  - {name: down, kind: uptime, target: 'http://127.0.0.1:1'}\n"
            "  - {name: no-rows, kind: db, target: postgres, query: 'SELECT 1 WHERE false'}\n"
            "  - {name: broken-journey, kind: journey, target: tiny, steps: [{path: /items, save: {id: $.nothing}}]}\n"
        )
    )
    tiny = TinyService(targets["tiny"])
    slow_before = tiny.handled("/slow")
    scheduler = ProbeScheduler(plan(load_synthetic(path), targets, SCALE))  # too-slow: 0.1 s
    attempts = {a.probe: a for a in asyncio.run(scheduler.once())}
    assert {p: a.result for p, a in attempts.items()} == {
        "wrong-status": Result.FAILURE,
        "wrong-body": Result.FAILURE,
        "too-slow": Result.TIMEOUT,
        "down": Result.ERROR,
        "no-rows": Result.FAILURE,
        "broken-journey": Result.FAILURE,
    }
    assert "404, expected 200" in attempts["wrong-status"].detail
    assert "nothing at $.nothing" in attempts["broken-journey"].detail
    assert sum(scheduler.counts.values()) == 6  # one attempt each: nothing retried
    time.sleep(0.3)  # the slow request completes on the service's side
    assert tiny.handled("/slow") == slow_before + 1


def test_serve_exports_metrics_and_survives_a_down_target(
    tmp_path: Path, targets: dict[str, str]
) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text(
        _header(
            "probes:\n"
            "  - {name: up, kind: uptime, target: tiny}\n"
            "  - {name: gone, kind: uptime, target: 'http://127.0.0.1:1'}\n"
        )
    )
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "sloverify",
        "synthetic",
        "serve",
        str(path),
        "--listen",
        f"127.0.0.1:{port}",
    ]
    cmd += ["--time-scale", "120", "--target", f"tiny={targets['tiny']}"]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, "SLOVERIFY_RUNS": str(tmp_path / "none")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        text = ""
        deadline = time.monotonic() + 20
        while 'probe="gone",result="error",stack="t"} 3.0' not in text:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
            try:
                text = httpx.get(f"{base}/metrics", timeout=2, trust_env=False).text
            except httpx.HTTPError:
                continue
        health = httpx.get(f"{base}/healthz", timeout=2, trust_env=False)
        assert health.status_code == 200
        assert health.json()["last"] == {"gone": "error", "up": "success"}
        assert (
            'sloverify_probe_results_total{kind="uptime",probe="up",result="success",stack="t"}'
            in text
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught (exit -15).
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert proc.returncode in (0, -15), output
    assert "Traceback" not in output
