"""The CA3 reference stack (document 004), running: its PromQL, a Mongo fault, a crash, the API.

One stack per module (scale 60): producers -> Kafka -> processor -> MongoDB (FerretDB), the
processor also serving the Processor API. The producers run all along (20 messages/s);
the API gets a bounded httpx loop. SLO-1's numerator is the document's mistake: asserted
empty, and explained by lint (SLO006).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition
from pymongo import MongoClient

from sloverify.adapters.prometheus import Sample, finite
from sloverify.adapters.runtime.stackrun import StackRun
from sloverify.adapters.toxiproxy import ResetPeerAttributes, TimeoutAttributes, Toxic
from sloverify.rules.queries import spec_queries
from sloverify.spec.loader import load_spec
from tests.conftest import STACKS
from tests.stack_support import (
    at_least,
    document_lint_tests,
    drive,
    run_schemathesis,
    stack_fixture,
    value,
)

SPEC = STACKS / "ca3" / "slo.yaml"

# What the spec's "LINT" comments announce: (lint id, spec line, words of the message).
EXPECTED_FINDINGS = [
    (
        "SLO006",
        "the document names http_requests_total, but its query selects starlette_requests_total",
    ),
    ("SLO006", "label 'status' is not emitted by starlette_exporter on starlette_requests_total"),
    ("SLO005", "api-availability: the selector also counts GET /metrics"),
    ("SLO007", "api-availability: the SLI fixes its range at [5m]"),
    ("SLO007", "api-latency: the query measures over [5m], but the document states a 1h"),
    ("SLO003", "ProcessorAvailabilityBurnRateHigh fires on 5m alone at 14.4x"),
    ("SLO003", "ProcessorAvailabilityBurnRate1h fires on 1h alone at 6x"),
]


(
    findings,
    test_lint_reports_the_documents_mistake,
    test_every_finding_is_announced_by_a_lint_comment,
) = document_lint_tests(SPEC, EXPECTED_FINDINGS)


# ---- the running stack ---------------------------------------------------------------------

ca3 = stack_fixture("ca3")

# Document 004's PromQL, verbatim (SLO-1's ratio without its "api_success_ratio =" name).
SLO1_NUMERATOR = 'sum(rate(starlette_requests_total{job="processor",status=~"2.."}[5m]))'
SLO1_DENOMINATOR = 'sum(rate(starlette_requests_total{job="processor"}[5m]))'
SLO1_RATIO = f"(\n  {SLO1_NUMERATOR}\n  /\n  {SLO1_DENOMINATOR}\n)"
DOCUMENT_004 = {
    "slo1-denominator": SLO1_DENOMINATOR,
    "slo2-p95": (
        "histogram_quantile(\n  0.95,\n  sum(rate(starlette_request_duration_seconds_bucket"
        '{job="processor"}[5m])) by (le)\n)'
    ),
    "slo3-proxy": (
        "sum(rate(app_processed_messages_total[1m])) \n/\n"
        "sum(rate(app_produced_messages_total[1m]))"
    ),
    "slo4-restarts": (
        'increase(kube_pod_container_status_restarts_total{namespace="app",pod=~"processor-.*"}[24h])'
    ),
}
# The numerator as starlette_exporter labels it: what SLO006 tells the author to write.
FIXED_RATIO = SLO1_RATIO.replace('status=~"2.."', 'status_code=~"2.."')
SPEC_QUERIES = [(q.path, q.text) for q in spec_queries(load_spec(SPEC))]

REQUESTS = 'sum(starlette_requests_total{job="processor",path=~"/health|/gpu/info"})'
ERRORS = 'sum(starlette_requests_total{job="processor",path="/gpu/info",status_code="503"})'
PRODUCED = "sum(app_produced_messages_total)"
PROCESSED = "sum(app_processed_messages_total)"
FAILED = "sum(app_produce_failures_total)"
TOKEN_TOPIC = "ca3.token-events"
RATE = 20  # messages per second the producers send (stack.yaml: PRODUCE_RATE 10, two streams)
FREEZE = 6.0  # seconds a Kafka edge stays frozen
RESTARTS = 'kube_pod_container_status_restarts_total{namespace="app",pod="processor-0",container="processor"}'


@pytest.fixture(scope="module")
def traffic(ca3: StackRun) -> list[int]:
    # Scraped before the API traffic: a series' first sample must precede its increments.
    assert at_least(ca3, 'sum(up{job=~"processor|producers"})', 2) == 2
    # The pipeline flows: every GPU has a latest sample in MongoDB.
    at_least(ca3, PROCESSED, 40)
    url = ca3.url("processor")
    deadline = time.monotonic() + 20
    while len(httpx.get(f"{url}/gpu/info", trust_env=False).json()["gpus"]) < 4:
        assert time.monotonic() < deadline, "the pipeline wrote no info for 4 GPUs in 20 s"
        time.sleep(0.2)
    codes = drive(url, ["/health", "/gpu/info"], seconds=6, max_requests=120)
    assert codes and set(codes) == {200}, codes
    at_least(ca3, REQUESTS, len(codes))
    return codes


def _has_data(samples: tuple[Sample, ...]) -> bool:
    return bool(finite(samples))


@pytest.mark.parametrize("expr", DOCUMENT_004.values(), ids=DOCUMENT_004.keys())
def test_document_004_query_returns_data(ca3: StackRun, traffic: list[int], expr: str) -> None:
    samples = ca3.prometheus.wait_for(expr, _has_data, timeout=20)
    assert _has_data(samples), f"no data for {expr}: {samples}"


def test_slo1_numerator_selects_nothing_as_lint_explains(
    ca3: StackRun, traffic: list[int], findings: list[tuple[str, str]]
) -> None:
    # 2xx requests were served and scraped, yet 004's numerator (and so its ratio) is empty:
    # starlette_exporter's label is status_code. SLO006 says so; its fix returns ~1.
    assert ca3.prometheus.query(SLO1_NUMERATOR) == ()
    assert ca3.prometheus.query(SLO1_RATIO) == ()
    assert any(i == "SLO006" and "status=~" in m for i, m in findings)
    fixed = ca3.prometheus.wait_for(FIXED_RATIO, _has_data, timeout=20)
    assert _has_data(fixed) and fixed[0].value > 0.99, fixed


@pytest.mark.parametrize(
    ("path", "expr"), SPEC_QUERIES, ids=[".".join(map(str, p)) for p, _ in SPEC_QUERIES]
)
def test_spec_sli_query_returns_data(
    ca3: StackRun, traffic: list[int], path: tuple[object, ...], expr: str
) -> None:
    if 'status=~"2.."' in expr:  # the spec keeps 004's numerator: empty, as above
        assert ca3.prometheus.query(expr) == ()
        return
    samples = ca3.prometheus.wait_for(expr, _has_data, timeout=20)
    assert _has_data(samples), f"{path}: no data for {expr}: {samples}"


def test_reset_peer_on_the_mongo_edge_fails_that_share_of_api_requests(
    ca3: StackRun, traffic: list[int]
) -> None:
    # A fresh Mongo client per request: the 503 ratio follows the toxicity (per connection).
    url = ca3.url("processor")
    toxic = Toxic(name="errors", attributes=ResetPeerAttributes(timeout=0), toxicity=0.3)
    fault = ca3.faults.apply_toxic(ca3.toxiproxy_url, "processor-mongo", toxic)
    try:
        codes = drive(url, ["/gpu/info"], seconds=20, max_requests=80)
    finally:
        ca3.faults.remove(fault)
    ratio = codes.count(503) / len(codes)
    print(
        f"ca3: reset_peer 0.3 on processor-mongo -> /gpu/info 503 ratio {ratio:.3f} of {len(codes)}"
    )
    assert set(codes) <= {200, 503}, codes
    assert 0.15 <= ratio <= 0.5, (ratio, len(codes))
    assert set(drive(url, ["/gpu/info"], seconds=2, max_requests=10)) == {200}


def _token_events_in_kafka(run: StackRun) -> int:
    """The token topic's end offset, read from Kafka directly (not through an edge)."""
    consumer = KafkaConsumer(bootstrap_servers=run.url("kafka"), request_timeout_ms=5000)
    try:
        partition = TopicPartition(TOKEN_TOPIC, 0)
        return int(consumer.end_offsets([partition], timeout_ms=5000)[partition])
    finally:
        consumer.close()


def _token_events_in_mongo(run: StackRun, below: int) -> int:
    """How many of the token topic's first ``below`` offsets MongoDB holds (directly)."""
    client: MongoClient[dict[str, object]] = MongoClient(
        run.url("mongo"), serverSelectionTimeoutMS=5000, directConnection=True
    )
    try:
        return client.ca3.token_events.count_documents({"offset": {"$lt": below}})
    finally:
        client.close()


def test_a_frozen_mongo_edge_becomes_lag_then_catch_up(ca3: StackRun, traffic: list[int]) -> None:
    # Toxiproxy's timeout toxic (0: never closes) freezes the edge: writes time out and are
    # retried (lag), the API answers 503 within its deadline, and after the fault the
    # backlog is written: processed reaches produced, and the backlog's e2e latency shows.
    url = ca3.url("processor")
    over_10s = 'sum(app_e2e_latency_seconds_count) - sum(app_e2e_latency_seconds_bucket{le="10.0"})'
    slow0 = value(ca3, over_10s)
    freeze = Toxic(name="freeze", attributes=TimeoutAttributes(timeout=0))
    fault = ca3.faults.apply_toxic(ca3.toxiproxy_url, "processor-mongo", freeze)
    started = time.monotonic()
    try:
        timed = []
        for _ in range(3):
            t = time.monotonic()
            code = httpx.get(f"{url}/gpu/info", timeout=5.0, trust_env=False).status_code
            timed.append((code, round(time.monotonic() - t, 2)))
        assert all(code == 503 and seconds < 2.5 for code, seconds in timed), timed
        lagging = ca3.prometheus.wait_for(
            DOCUMENT_004["slo3-proxy"], lambda s: bool(s) and s[0].value < 0.9, timeout=20
        )
        assert lagging and lagging[0].value < 0.9, lagging
        print(f"ca3: frozen processor-mongo -> processed/produced [1m] {lagging[0].value:.3f}")
        time.sleep(max(0.0, 12.0 - (time.monotonic() - started)))  # a backlog older than 10 s
        produced = at_least(ca3, PRODUCED, 1)
    finally:
        ca3.faults.remove(fault)
    caught_up = at_least(ca3, PROCESSED, produced, timeout=30)
    print(f"ca3: after the fault, processed {caught_up:.0f} >= produced {produced:.0f}")
    # Nothing was dropped: every token event Kafka held at the end of the fault is in MongoDB.
    end = _token_events_in_kafka(ca3)
    deadline = time.monotonic() + 15
    while (stored := _token_events_in_mongo(ca3, end)) < end and time.monotonic() < deadline:
        time.sleep(0.5)
    assert end > 0 and stored == end, (stored, end)
    print(f"ca3: all {end} token events in Kafka are in MongoDB")
    slow = at_least(ca3, over_10s, slow0 + 1)
    print(f"ca3: messages over SLO-3's 10 s: {slow - slow0:.0f}")
    e2e_errors = value(ca3, dict(SPEC_QUERIES)[("slos", 2, "sli", "latency")])
    assert e2e_errors > 0, e2e_errors
    assert httpx.get(f"{url}/gpu/info", timeout=5.0, trust_env=False).status_code == 200


@pytest.mark.parametrize("edge", ["processor-kafka", "producers-kafka"])
def test_a_frozen_kafka_edge_delays_messages_and_loses_none(
    ca3: StackRun, traffic: list[int], edge: str
) -> None:
    # The processor's edge: it starves (lag), then catches up. The producers' edge: Kafka's
    # acknowledgements stop, the producer buffers and retries, and delivers all afterwards.
    produced0, failed0 = value(ca3, PRODUCED), value(ca3, FAILED)
    freeze = Toxic(name="freeze", attributes=TimeoutAttributes(timeout=0))
    fault = ca3.faults.apply_toxic(ca3.toxiproxy_url, edge, freeze)
    try:
        if edge == "processor-kafka":
            lagging = ca3.prometheus.wait_for(
                DOCUMENT_004["slo3-proxy"], lambda s: bool(s) and s[0].value < 0.95, timeout=15
            )
            assert lagging and lagging[0].value < 0.95, lagging
        time.sleep(FREEZE)
        acked_during = value(ca3, PRODUCED) - produced0
    finally:
        ca3.faults.remove(fault)
    if edge == "producers-kafka":
        assert acked_during < RATE * 2, acked_during  # a few in flight, then nothing
    # Every message sent during the freeze arrives, then is processed; none failed.
    produced = at_least(ca3, PRODUCED, produced0 + RATE * FREEZE * 0.8)
    processed = at_least(ca3, PROCESSED, produced)
    print(
        f"ca3: frozen {edge} for {FREEZE:g} s -> produced {produced:.0f}, processed {processed:.0f}"
    )
    assert value(ca3, FAILED) == failed0


def test_a_killed_processor_is_restarted_and_counted(ca3: StackRun, traffic: list[int]) -> None:
    before = value(ca3, RESTARTS)
    old = ca3.process("processor")
    os.kill(old.pid, signal.SIGKILL)
    samples = ca3.prometheus.wait_for(
        RESTARTS, lambda s: bool(s) and s[0].value >= before + 1, timeout=30
    )
    assert samples and samples[0].value == before + 1, samples
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{ca3.url('processor')}/health", trust_env=False).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the processor did not come back in 30 s"
        time.sleep(0.2)
    assert ca3.process("processor").pid != old.pid
    restarts = at_least(ca3, DOCUMENT_004["slo4-restarts"], 0.5)
    print(f"ca3: SLO-4 increase(restarts[24h]) after one kill = {restarts:.2f}")
    # The restarted processor resumes from its committed offsets: the pipeline flows again.
    at_least(ca3, "sum(rate(app_processed_messages_total[5s]))", 1)


def test_schemathesis_finds_nothing(ca3: StackRun, tmp_path: Path) -> None:
    run_schemathesis(f"{ca3.url('processor')}/openapi.json", tmp_path, max_examples=30)
