"""The embedded runtime for real: every component starts, answers, routes alerts, and stops clean."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import httpx
import psutil
import pytest

from sloverify._exceptions import ComponentFailed, Unreachable
from sloverify.adapters.runtime.components import (
    Component,
    Launch,
    Prometheus,
    RunContext,
    Webhook,
    core_components,
    external_component,
)
from sloverify.adapters.runtime.registry import RunDir, Status
from sloverify.adapters.runtime.supervisor import Backoff, Supervisor
from sloverify.adapters.tools import Tool, Tools
from tests.conftest import BOOTSTRAP


def _tools(*needed: Tool) -> Tools:
    tools = Tools.load()
    missing = [
        t.value
        for t in (needed or tuple(Tool))
        if t not in tools.paths or not tools.paths[t].exists()
    ]
    if missing:
        pytest.fail(f"runtime tools missing ({', '.join(missing)}): {BOOTSTRAP}")
    return tools


def _descendants_of(run: RunDir) -> list[psutil.Process]:
    # Any process whose command line mentions the run folder is one of ours.
    mine = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(str(run.path) in part for part in p.info["cmdline"] or []):
                mine.append(p)
        except psutil.Error:
            continue
    return mine


def _tree(sup: Supervisor) -> list[psutil.Process]:
    """Every process the supervisor started, and their children (postgres forks, java threads)."""
    procs = []
    for slot in sup._slots.values():
        record = slot.process.record
        if record is None:
            continue
        try:
            root = psutil.Process(record.pid)
            procs += [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
    return procs


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    """Every component of the embedded default, started once for this module."""
    run = RunDir.create(tmp_path_factory.mktemp("runs"))
    ctx = RunContext(run, _tools(), Fraction(60))
    rules = run.path / "rules-src"
    rules.mkdir()
    (rules / "always.yml").write_text(
        "groups:\n- name: always\n  rules:\n  - alert: AlwaysFiring\n    expr: vector(1)\n"
        "    labels: {severity: page}\n"
    )
    ctx.rule_files.append(rules / "always.yml")
    sup = Supervisor(ctx, core_components(), backoff=Backoff(first=0.2, limit=1.0))
    sup.start()
    started = _tree(sup)
    assert len(started) >= 7
    try:
        yield sup
    finally:
        sup.stop()
        left = [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not left, f"processes left behind after stop: {left}"
        assert not _descendants_of(run), "processes left behind after stop"


def test_every_component_is_ready(full_run: Supervisor) -> None:
    names = {c.name: c.status for c in full_run.run_state.components}
    assert names == {
        n: Status.READY
        for n in (
            "toxiproxy",
            "postgres",
            "kafka",
            "mongo",
            "webhook",
            "alertmanager",
            "prometheus",
        )
    }
    for c in full_run.run_state.components:
        assert full_run.component(c.name).ready(), c.name


def test_ports_are_loopback_and_distinct(full_run: Supervisor) -> None:
    ports = [p for c in full_run.run_state.components for p in c.ports.values()]
    assert len(ports) == len(set(ports))
    assert 9093 not in ports
    for c in full_run.run_state.components:
        assert "127.0.0.1" in c.url


def test_each_component_logs_into_the_run_folder(full_run: Supervisor) -> None:
    for c in full_run.run_state.components:
        log = Path(c.log)
        assert log.parent == full_run.ctx.run.path / "logs"
        assert log.stat().st_size > 0, c.name


def test_alert_reaches_its_receiver_through_alertmanager(full_run: Supervisor) -> None:
    webhook = full_run.component("webhook")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        records = httpx.get(f"{webhook.url}/notifications", timeout=5).json()
        hits = [
            r
            for r in records
            if r["receiver"] == "page"
            and any(a["labels"]["alertname"] == "AlwaysFiring" for a in r["payload"]["alerts"])
        ]
        if hits:
            assert hits[0]["received_at"] <= time.time()
            return
        time.sleep(0.5)
    pytest.fail(f"no notification at the 'page' receiver; got {records}")


def test_restart_metric_is_scraped_by_prometheus(full_run: Supervisor) -> None:
    prom = full_run.component("prometheus")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        up = httpx.get(
            f"{prom.url}/api/v1/query", params={"query": 'up{job="sloverify"}'}, timeout=5
        ).json()
        if up["data"]["result"] and up["data"]["result"][0]["value"][1] == "1":
            return
        time.sleep(0.5)
    pytest.fail("Prometheus does not scrape the supervisor's metrics")


def test_crashed_component_is_restarted_and_counted(full_run: Supervisor) -> None:
    state = full_run.run_state.component("toxiproxy")
    assert state is not None
    before = state.restarts
    record = full_run._slots["toxiproxy"].process.record
    assert record is not None
    os.killpg(record.pgid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
        state.restarts > before and state.status is Status.READY
    ):
        time.sleep(0.1)
    assert state.restarts == before + 1 and state.status is Status.READY
    metrics = httpx.get(f"http://127.0.0.1:{full_run.metrics_port}/metrics", timeout=5).text
    assert f'sloverify_component_restarts_total{{component="toxiproxy"}} {before + 1}.0' in metrics


def test_state_file_mirrors_the_supervisor(full_run: Supervisor) -> None:
    raw = json.loads((full_run.ctx.run.path / "state.json").read_text())
    assert raw["ready"] is True
    assert {c["name"] for c in raw["components"]} == {c.name for c in full_run.run_state.components}


class _Broken(Component):
    """A component whose process exits at once, to see the failure message."""

    name = "broken"

    def prepare(self, ctx: RunContext) -> Launch:
        return Launch(["sh", "-c", "echo 'config error: no such file' >&2; exit 7"])

    def ready(self) -> bool:
        return False


def test_failed_start_names_command_and_log_and_stops_the_rest(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path)
    sup = Supervisor(RunContext(run, _tools(Tool.PROMETHEUS)), [Webhook(), _Broken()])
    with pytest.raises(ComponentFailed) as info:
        sup.start()
    message = str(info.value)
    assert "broken exited with code 7" in message
    assert "config error: no such file" in message and "sh -c" in message
    assert not _descendants_of(run)


def test_external_component_is_checked_not_started(tmp_path: Path) -> None:
    owner = RunDir.create(tmp_path / "a")
    with Supervisor(RunContext(owner, _tools(Tool.PROMETHEUS)), [Prometheus()]) as a:
        url = a.component("prometheus").url
        user = RunDir.create(tmp_path / "b")
        with Supervisor(
            RunContext(user, _tools(Tool.PROMETHEUS)), [external_component("prometheus", url)]
        ) as b:
            state = b.run_state.component("prometheus")
            assert state is not None and state.external and state.status is Status.READY
            assert not list((user.path / "pids").glob("*.json"))


def test_unreachable_external_component_says_so(tmp_path: Path) -> None:
    comp = external_component("prometheus", "http://127.0.0.1:9")
    comp.ready_timeout = 1.0
    with pytest.raises(Unreachable, match=r"127\.0\.0\.1:9 is unreachable"):
        Supervisor(RunContext(RunDir.create(tmp_path), _tools(Tool.PROMETHEUS)), [comp]).start()


def test_rules_reload_on_change(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path)
    with Supervisor(
        RunContext(run, _tools(Tool.PROMETHEUS), Fraction(60)), [Webhook(), Prometheus()]
    ) as sup:
        prom = sup.component("prometheus")

        def groups() -> set[str]:
            data = httpx.get(f"{prom.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
            return {g["name"] for g in data}

        assert groups() == set()
        new = tmp_path / "extra.yml"
        new.write_text(
            "groups:\n- name: added-later\n  rules:\n  - record: x:y\n    expr: vector(2)\n"
        )
        sup.update_rules([new])
        deadline = time.monotonic() + 10
        while groups() != {"added-later"} and time.monotonic() < deadline:
            time.sleep(0.2)
        assert groups() == {"added-later"}
        sup.update_rules([])
        deadline = time.monotonic() + 10
        while groups() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert groups() == set()


def test_an_exception_inside_the_run_stops_everything(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path)
    sup = Supervisor(RunContext(run, _tools(Tool.PROMETHEUS)), [Webhook(), Prometheus()])
    started: list[psutil.Process] = []
    with pytest.raises(RuntimeError, match="experiment broke"), sup:
        started = _tree(sup)
        assert len(started) >= 2
        raise RuntimeError("experiment broke")
    assert not [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not (run.path / "controller.json").exists()
