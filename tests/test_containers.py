"""The optional Docker backend: runs where a Docker engine answers; elsewhere it says why it skips."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloverify._exceptions import HarnessError
from sloverify.adapters.runtime.containers import ContainerDependencies, docker_engine, images

ENGINE, WHY = docker_engine()


def test_engine_check_gives_a_reason() -> None:
    # On a machine with only the docker client (like CI here) the reason names the engine.
    assert WHY
    assert ("engine" in WHY) or ("client" in WHY) or ENGINE


def test_images_use_the_chosen_ports() -> None:
    ports = {
        "toxiproxy": 1001,
        "postgres": 1002,
        "kafka": 1003,
        "kafka_controller": 1004,
        "mongo": 1005,
    }
    by_name = {i.name: i for i in images(ports)}
    assert "-port 1001" in by_name["toxiproxy"].command
    assert "-p 1002" in by_name["postgres"].command
    assert by_name["kafka"].env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://127.0.0.1:1003"
    assert "1004" in by_name["kafka"].env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert by_name["mongo"].env["FERRETDB_LISTEN_ADDR"] == "127.0.0.1:1005"


def test_without_an_engine_the_backend_refuses_clearly() -> None:
    if ENGINE:
        pytest.skip("a Docker engine answers here; the refusal path cannot be shown")
    with pytest.raises(HarnessError, match="needs a running Docker engine"):
        ContainerDependencies("test").start()


@pytest.mark.skipif(not ENGINE, reason=f"Docker backend not exercised: {WHY}")
def test_containers_start_ready_and_stop(tmp_path: Path) -> None:
    deps = ContainerDependencies("test")
    with deps:
        components = deps.start()
        assert {c.name for c in components} == {"toxiproxy", "postgres", "kafka", "mongo"}
        import time

        deadline = time.monotonic() + 180
        pending = list(components)
        while pending and time.monotonic() < deadline:
            pending = [c for c in pending if not c.ready()]
            time.sleep(1)
        assert not pending, [c.name for c in pending]
