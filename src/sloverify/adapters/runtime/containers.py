"""The optional Docker backend: dependencies in containers, started with testcontainers.

Never the default. Toxiproxy, PostgreSQL, Kafka and FerretDB run as containers on the host
network (so Toxiproxy reaches services on 127.0.0.1 and ports stay 127.0.0.1), each on a free
port chosen here; the supervisor then checks them like external components. Prometheus,
Alertmanager and the webhook stay local processes: their configuration is the run's files.
Needs ``pip install 'sloverify[docker]'`` and a running Docker engine (not just the client).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from sloverify._exceptions import HarnessError, ToolNotFound
from sloverify.adapters.runtime.components import Component, external_component
from sloverify.adapters.runtime.ports import free_port

INSTALL = "pip install 'sloverify[docker]'"


@dataclass(frozen=True)
class Image:
    """A component's container: image, command and environment for a given port."""

    name: str
    image: str
    command: str = ""
    env: dict[str, str] = field(default_factory=dict)


def images(ports: dict[str, int]) -> list[Image]:
    """The containers of the Docker backend, configured for the chosen ports."""
    k, kc = ports["kafka"], ports["kafka_controller"]
    return [
        Image(
            "toxiproxy",
            "ghcr.io/shopify/toxiproxy:2.12.0",
            f"-host 127.0.0.1 -port {ports['toxiproxy']}",
        ),
        Image(
            "postgres",
            "postgres:15",
            f"postgres -c listen_addresses=127.0.0.1 -p {ports['postgres']}",
            {"POSTGRES_HOST_AUTH_METHOD": "trust"},
        ),
        Image(
            "kafka",
            "apache/kafka:3.9.2",
            "",
            {
                "KAFKA_NODE_ID": "1",
                "KAFKA_PROCESS_ROLES": "broker,controller",
                "KAFKA_LISTENERS": f"PLAINTEXT://127.0.0.1:{k},CONTROLLER://127.0.0.1:{kc}",
                "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{k}",
                "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
                "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@127.0.0.1:{kc}",
                "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
                "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
                "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
            },
        ),
        Image(
            "mongo",
            "ghcr.io/ferretdb/ferretdb:1.24.2",
            "",
            {"FERRETDB_HANDLER": "sqlite", "FERRETDB_LISTEN_ADDR": f"127.0.0.1:{ports['mongo']}"},
        ),
    ]


def docker_engine() -> tuple[bool, str]:
    """Whether a Docker engine answers (the client alone is not enough), and why not."""
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except FileNotFoundError:
        return False, "the docker client is not installed"
    except subprocess.TimeoutExpired:
        return False, "`docker info` did not answer within 10s"
    if proc.returncode != 0:
        return False, f"no Docker engine answers: {(proc.stderr or proc.stdout).strip()[:200]}"
    return True, f"Docker engine {proc.stdout.strip()}"


class ContainerDependencies:
    """Starts the dependency containers; yields them as components the supervisor only checks."""

    def __init__(self, run_id: str) -> None:
        self._run_id = run_id
        self._containers: list[Any] = []

    def start(self) -> list[Component]:
        """Start every container and return the matching (external) components."""
        ok, why = docker_engine()
        if not ok:
            raise HarnessError(
                f"the docker backend needs a running Docker engine: {why}; "
                "use the embedded default (no --backend)"
            )
        try:
            from testcontainers.core.container import DockerContainer
        except ImportError as exc:
            raise ToolNotFound("testcontainers", INSTALL) from exc
        ports = {
            n: free_port() for n in ("toxiproxy", "postgres", "kafka", "kafka_controller", "mongo")
        }
        try:
            for image in images(ports):
                container = DockerContainer(image.image).with_kwargs(
                    network_mode="host", labels={"sloverify.run": self._run_id}
                )
                for key, value in image.env.items():
                    container = container.with_env(key, value)
                if image.command:
                    container = container.with_command(image.command)
                self._containers.append(container.start())
        except Exception as exc:
            self.stop()
            raise HarnessError(f"starting containers failed: {exc}") from exc
        components = [
            external_component("toxiproxy", f"http://127.0.0.1:{ports['toxiproxy']}"),
            external_component(
                "postgres", f"postgresql://postgres@127.0.0.1:{ports['postgres']}/postgres"
            ),
            external_component("kafka", f"127.0.0.1:{ports['kafka']}"),
            external_component("mongo", f"mongodb://127.0.0.1:{ports['mongo']}/"),
        ]
        for c in components:
            c.ready_timeout = 180.0  # a first run pulls the images
        return components

    def stop(self) -> None:
        """Stop and remove every container started here."""
        for container in reversed(self._containers):
            try:
                container.stop()
            except Exception:
                continue
        self._containers.clear()

    def __enter__(self) -> ContainerDependencies:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
