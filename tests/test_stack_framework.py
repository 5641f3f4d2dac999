"""The stack framework on a minimal stack: services up, edges through proxies, scraped, restarted."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from sloverify._exceptions import InputError, SpecError
from sloverify.adapters.prometheus import finite
from sloverify.adapters.runtime.stackrun import StackRun, known_stacks, stack_file
from sloverify.adapters.toxiproxy import ResetPeerAttributes, Toxic
from sloverify.spec.stack import load_stack
from tests.conftest import DATA
from tests.stack_support import drive, stack_fixture

DEMO = DATA / "stacks" / "demo" / "stack.yaml"
run = stack_fixture(DEMO, probes=(DEMO.parent / "probes.yaml",))


def test_services_answer_through_their_edges(run: StackRun) -> None:
    assert set(run.edges) == {"demo-api-postgres", "worker-api"}
    assert run.edges["demo-api-postgres"].target == "postgres"
    codes = drive(run.url("demo-api"), ["/answer"], seconds=2, max_requests=40)
    assert codes and set(codes) == {200}


def test_services_are_scraped_with_their_stack_label(run: StackRun) -> None:
    drive(run.url("demo-api"), ["/answer"], seconds=1, max_requests=20)
    samples = run.prometheus.wait_for(
        'sum by (job, stack) (http_requests_total{service="demo-api",path="/answer"})',
        lambda s: bool(finite(s)),
        timeout=20,
    )
    assert [dict(s.labels) for s in samples] == [{"job": "demo-api", "stack": "demo"}]
    polls = run.prometheus.wait_for(
        'demo_polls_total{outcome="ok"}', lambda s: bool(s) and s[0].value > 0, timeout=20
    )
    assert polls and polls[0].value > 0


def test_a_reset_fault_on_the_database_edge_fails_that_share_of_requests(run: StackRun) -> None:
    toxic = Toxic(name="resets", attributes=ResetPeerAttributes(timeout=0), toxicity=0.5)
    fault = run.faults.apply_toxic(run.toxiproxy_url, "demo-api-postgres", toxic)
    try:
        codes = drive(run.url("demo-api"), ["/answer"], seconds=4, max_requests=200)
    finally:
        run.faults.remove(fault)
    errors = codes.count(503) / len(codes)
    assert set(codes) <= {200, 503}
    # Toxiproxy decides per connection, the kit opens one per request: the ratio holds.
    assert 0.3 < errors < 0.7, (errors, len(codes))
    after = drive(run.url("demo-api"), ["/answer"], seconds=1, max_requests=30)
    assert set(after) == {200}  # recovered by itself


def test_a_killed_worker_is_restarted_and_counted_as_a_pod_restart(run: StackRun) -> None:
    record = run.supervisor._slots["demo-worker"].process.record
    assert record is not None
    os.kill(record.pid, signal.SIGKILL)
    expr = 'kube_pod_container_status_restarts_total{namespace="app",pod="demo-worker-0"}'
    samples = run.prometheus.wait_for(expr, lambda s: bool(s) and s[0].value >= 1, timeout=30)
    assert samples and samples[0].value == 1
    assert samples[0].labels["container"] == "worker"


def test_the_run_s_probes_are_supervised_and_scraped(run: StackRun) -> None:
    expr = 'sum by (probe, result) (sloverify_probe_results_total{stack="demo",job="synthetic"})'
    samples = run.prometheus.wait_for(
        expr,
        lambda s: (
            {x.labels["probe"] for x in s if x.value > 0} >= {"demo-up", "demo-answer", "demo-db"}
        ),
        timeout=30,
    )
    seen = {(x.labels["probe"], x.labels["result"]) for x in samples if x.value > 0}
    assert {("demo-up", "success"), ("demo-answer", "success"), ("demo-db", "success")} <= seen


def test_unknown_stack_names_suggest_the_closest(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="did you mean 'demo'"):
        stack_file("dmeo", DEMO.parent.parent)
    assert known_stacks(DEMO.parent.parent) == ["demo"]


@pytest.mark.parametrize(
    ("text", "needle", "line"),
    [
        (
            "services:\n  - name: a\n    run: services/app.py\n    uses: [{target: postgress, env: DB}]\n",
            "did you mean 'postgres'",
            4,
        ),
        (
            "services:\n  - name: a\n    run: services/app.py\n    helth: /h\n",
            "did you mean 'health'",
            4,
        ),
        ("services:\n  - name: a\n    run: services/missing.py\n", "does not exist", 3),
        (
            "services:\n  - name: a\n    run: services/app.py\n    depends_on: [b]\n",
            "'b' is not a service",
            4,
        ),
    ],
)
def test_bad_stack_definitions_are_located(
    text: str, needle: str, line: int, tmp_path: Path
) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "app.py").write_text("")
    path = tmp_path / "stack.yaml"
    path.write_text("version: sloverify/v1\nkind: stack\nname: x\n" + text.replace("\n", "\n", 1))
    # The header adds three lines above the services block.
    with pytest.raises(SpecError) as caught:
        load_stack(path)
    assert needle in str(caught.value)
    assert caught.value.location.line == line + 3


def test_every_stack_in_the_repository_loads() -> None:
    for name in known_stacks():
        assert load_stack(stack_file(name)).spec.name == name


def test_kafka_gets_a_listener_per_edge_advertised_at_its_proxy(tmp_path: Path) -> None:
    from sloverify.adapters.runtime.datastores import Kafka, _kafka_properties

    kafka = Kafka()
    own = kafka.add_edge_listener("bus", advertised=40001)
    props = dict(
        line.split("=", 1) for line in _kafka_properties(kafka, tmp_path).splitlines() if line
    )
    assert f"EDGE1://127.0.0.1:{own}" in props["listeners"]
    assert "EDGE1://127.0.0.1:40001" in props["advertised.listeners"]
    assert "EDGE1:PLAINTEXT" in props["listener.security.protocol.map"]
    assert props["inter.broker.listener.name"] == "PLAINTEXT"
