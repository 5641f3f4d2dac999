"""``sloverify up / status / down / logs`` as a user runs them, including orphans of a killed controller."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.conftest import Result

Run = Callable[..., Result]
QUICK = ("--only", "prometheus", "--only", "webhook")


@pytest.fixture
def runs(tmp_path: Path) -> dict[str, str]:
    return {"SLOVERIFY_RUNS": str(tmp_path / "runs")}


def _run_folder(runs: dict[str, str]) -> Path:
    [folder] = sorted(Path(runs["SLOVERIFY_RUNS"]).iterdir())[-1:]
    return folder


def _component_pids(folder: Path) -> list[int]:
    return [json.loads(p.read_text())["pid"] for p in (folder / "pids").glob("*.json")]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_up_status_logs_down(run_cli: Run, runs: dict[str, str]) -> None:
    up = run_cli("up", "maestro", "--time-scale", "60", *QUICK, env=runs)
    assert up.code == 0, up.err + up.out
    assert "ready" in up.out and "prometheus" in up.out
    folder = _run_folder(runs)
    pids = _component_pids(folder)
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    status = run_cli("status", env=runs)
    assert status.code == 0 and status.out.count("ready") == 2
    logs = run_cli("logs", "prometheus", "-n", "5", env=runs)
    assert logs.code == 0 and "level=info" in logs.out
    assert sorted(p.name for p in (folder / "rules").glob("*.yml")) == [
        "maestro-slo-api.yml",
        "maestro-slo-platform.yml",
    ]
    down = run_cli("down", env=runs)
    assert down.code == 0, down.err
    assert not any(_alive(p) for p in pids)
    assert run_cli("status", env=runs).code == 2  # nothing is up any more


def test_next_start_ends_the_orphans_of_a_killed_controller(
    run_cli: Run, runs: dict[str, str]
) -> None:
    assert run_cli("up", *QUICK, env=runs).code == 0
    first = _run_folder(runs)
    controller = json.loads((first / "controller.json").read_text())["pid"]
    pids = _component_pids(first)
    os.kill(controller, signal.SIGKILL)
    time.sleep(0.5)
    assert all(_alive(p) for p in pids), "components should outlive a SIGKILLed controller"
    second = run_cli("up", "--only", "webhook", env=runs)
    assert second.code == 0, second.err
    assert "ended orphan" in second.err
    assert not any(_alive(p) for p in pids)
    assert run_cli("down", env=runs).code == 0


def test_unknown_stack_is_bad_input(run_cli: Run, runs: dict[str, str]) -> None:
    result = run_cli("up", "maestor", env=runs)
    assert result.code == 2
    assert "unknown stack 'maestor'" in result.err and "did you mean 'maestro'" in result.err


def test_unreachable_external_is_exit_3(run_cli: Run, runs: dict[str, str]) -> None:
    result = run_cli(
        "up",
        "--only",
        "prometheus",
        "--external",
        "prometheus=http://127.0.0.1:9",
        "--timeout",
        "60",
        env=runs,
    )
    assert result.code == 3
    assert "127.0.0.1:9 is unreachable" in result.err
    assert "Traceback" not in result.err


def test_bad_external_flag_is_bad_input(run_cli: Run, runs: dict[str, str]) -> None:
    result = run_cli("up", "--external", "prometheus", env=runs)
    assert result.code == 2 and "NAME=URL" in result.err


def test_sigkill_of_controller_removes_an_active_toxic_and_next_start_ends_orphans(
    run_cli: Run, runs: dict[str, str]
) -> None:
    from sloverify.adapters.faults import FaultInjector, FaultLedger
    from sloverify.adapters.toxiproxy import LatencyAttributes, Toxic, ToxiproxyClient

    assert run_cli("up", "--only", "toxiproxy", "--only", "webhook", env=runs).code == 0
    folder = _run_folder(runs)
    state = json.loads((folder / "state.json").read_text())
    url = next(c["url"] for c in state["components"] if c["name"] == "toxiproxy")
    upstream = next(c["url"] for c in state["components"] if c["name"] == "webhook").removeprefix(
        "http://"
    )
    with ToxiproxyClient(url) as client:
        client.create_proxy("dependency", "127.0.0.1:0", upstream)
        # An experiment applies a latency toxic through the run's ledger...
        FaultInjector(FaultLedger(folder / "faults.jsonl")).apply_toxic(
            url, "dependency", Toxic(name="slow", attributes=LatencyAttributes(latency=2000))
        )
        assert [t.name for t in client.toxics("dependency")] == ["slow"]
        # ...and the controller dies without a chance to clean up.
        controller = json.loads((folder / "controller.json").read_text())["pid"]
        os.kill(controller, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while client.toxics("dependency") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.toxics("dependency") == (), "the toxic outlived its controller by 10s"
    pids = _component_pids(folder)
    assert pids and all(_alive(p) for p in pids)
    second = run_cli("up", "--only", "webhook", env=runs)
    assert second.code == 0 and "ended orphan" in second.err
    assert not any(_alive(p) for p in pids)
    assert run_cli("down", env=runs).code == 0


def test_alertmanager_routes_every_severity_the_specs_use(tmp_path: Path) -> None:
    from fractions import Fraction

    from sloverify.adapters.runtime.config import DEFAULT_SEVERITIES, alertmanager_config
    from sloverify.adapters.runtime.rulefiles import write_rules
    from tests.conftest import SLOTH_EXAMPLE

    _, severities = write_rules([SLOTH_EXAMPLE], Fraction(60), tmp_path)
    assert severities == {"pageteam", "slack"}  # Sloth's example routes by its own names
    config = alertmanager_config(
        Fraction(60), "http://127.0.0.1:1", (*DEFAULT_SEVERITIES, *severities)
    )
    for severity in ("pageteam", "slack", "page"):
        assert f'severity="{severity}"' in config and f"/hook/{severity}" in config


def test_up_a_stack_brings_its_services_up_behind_their_proxies(
    run_cli: Run, runs: dict[str, str]
) -> None:
    import httpx

    up = run_cli("up", "maestro", "--time-scale", "60", env=runs)
    try:
        assert up.code == 0, up.err + up.out
        folder = _run_folder(runs)
        state = json.loads((folder / "state.json").read_text())
        ready = {c["name"]: c for c in state["components"] if c["status"] == "ready"}
        assert {"maestro-api", "maestro-executor", "postgres", "toxiproxy"} <= set(ready)
        assert "kafka" not in ready  # only what the stack's edges need
        api = ready["maestro-api"]["url"]
        answer = httpx.get(f"{api}/api/maestro/v1/pipelines", timeout=5, trust_env=False)
        assert answer.status_code == 200
        proxies = httpx.get(f"{ready['toxiproxy']['url']}/proxies", timeout=5, trust_env=False)
        assert set(proxies.json()) == {"maestro-api-postgres", "maestro-executor-postgres"}
    finally:
        assert run_cli("down", env=runs).code == 0
