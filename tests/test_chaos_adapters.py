"""The live adapters without a stack: a stopped Prometheus, the webhook's file, toxic conversion."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from sloverify.adapters.live import StackMetrics, WebhookNotifications, to_toxic
from sloverify.adapters.prometheus import PrometheusClient
from sloverify.adapters.simulation import SimulatedStack, simulated_ports
from sloverify.adapters.toxiproxy import ResetPeerAttributes, Stream
from sloverify.engine.events import Event, FaultApplied, HarnessFailed, VerdictReached
from sloverify.engine.run import run_experiment
from sloverify.spec.experiment import ToxicFault
from sloverify.verdicts.model import NotificationStatus, Status
from tests.chaos_support import FAST_BURN, plan_of


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_stopped_prometheus_makes_every_verdict_inconclusive() -> None:
    # The real HTTP client against a port nobody listens on: Unreachable at every poll.
    plan = plan_of(FAST_BURN)
    sim = SimulatedStack(plan)
    dead = StackMetrics(PrometheusClient(f"http://127.0.0.1:{_closed_port()}", timeout=1.0))
    ports = simulated_ports(sim)
    ports = type(ports)(ports.clock, dead, dead, ports.notifications, ports.faults, ports.traffic)
    events: list[Event] = []
    status = run_experiment(plan, ports, events.append)
    assert status is Status.INCONCLUSIVE
    failures = [e.message for e in events if isinstance(e, HarnessFailed)]
    assert failures and "unreachable" in failures[0]
    verdicts = [e.verdict for e in events if isinstance(e, VerdictReached)]
    assert {v.status for v in verdicts} == {Status.INCONCLUSIVE}
    assert not any(isinstance(e, FaultApplied) for e in events)  # nothing injected blind


def test_webhook_notifications_are_read_per_alert_and_a_torn_line_is_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notifications.jsonl"
    record = {
        "received_at": 100.0,
        "receiver": "page",
        "payload": {
            "alerts": [{"status": "firing", "labels": {"alertname": "A", "severity": "page"}}]
        },
    }
    path.write_text(json.dumps(record) + "\n" + '{"received_at": 101, "rec')
    notes = WebhookNotifications(path).since(50.0)
    assert len(notes) == 1
    assert (notes[0].alert, notes[0].receiver, notes[0].status) == (
        "A",
        "page",
        NotificationStatus.FIRING,
    )
    assert WebhookNotifications(path).since(100.5) == ()
    assert WebhookNotifications(tmp_path / "none.jsonl").since(0.0) == ()


def test_a_spec_toxic_becomes_the_adapters_toxic() -> None:
    fault = plan_of(FAST_BURN).experiment.faults[0]
    assert isinstance(fault, ToxicFault)
    toxic = to_toxic(fault)
    assert toxic.attributes == ResetPeerAttributes(timeout=0)
    assert toxic.toxicity == 0.3 and toxic.stream is Stream.DOWNSTREAM
    assert toxic.wire()["type"] == "reset_peer"
