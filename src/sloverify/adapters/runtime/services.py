"""A stack's services as runtime components, each dependency edge through a Toxiproxy proxy.

Ports are chosen when the components are built, before anything starts: a proxy's listen
port must be known to the service that uses it, and a Kafka edge's port to Kafka itself
(its listener for that edge advertises the proxy, so clients that bootstrap through the
proxy stay behind it).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from sloverify._exceptions import ComponentFailed, ToxiproxyError
from sloverify.adapters.runtime.component import Component, Launch, RunContext, http_ok
from sloverify.adapters.runtime.config import ScrapeJob
from sloverify.adapters.runtime.datastores import Kafka, Mongo, Postgres
from sloverify.adapters.runtime.ports import free_port
from sloverify.adapters.toxiproxy import ToxiproxyClient
from sloverify.spec.stack import Dependency, LoadedStack, Service

COMMON = Path(__file__).resolve().parents[4] / "stacks" / "_common"


@dataclass(frozen=True)
class Edge:
    """One planned dependency edge: its proxy's name and ports."""

    name: str
    service: str
    target: str
    env: str
    listen: int  # the proxy's port, what the service connects to
    upstream_port: int  # where the proxy forwards: the target's (or its edge listener's) port

    @property
    def listen_address(self) -> str:
        """``127.0.0.1:<listen>``."""
        return f"127.0.0.1:{self.listen}"

    def client_url(self) -> str:
        """The address as the target's clients want it (see stacks/README.md)."""
        if self.target == Dependency.POSTGRES:
            return f"postgresql://postgres@{self.listen_address}/postgres"
        if self.target == Dependency.KAFKA:
            return self.listen_address
        if self.target == Dependency.MONGO:
            return f"mongodb://{self.listen_address}/"
        return f"http://{self.listen_address}"


class ServiceComponent(Component):
    """A stack's service: a Python program with its edges' proxies ensured before each start."""

    def __init__(self, stack: LoadedStack, service: Service, edges: tuple[Edge, ...]) -> None:
        super().__init__()
        self.stack = stack
        self.service = service
        self.edges = edges
        self.name = service.name
        self.depends_on = tuple(
            dict.fromkeys(["toxiproxy", *(e.target for e in edges), *service.depends_on])
        )
        self.ready_timeout = 60.0

    @property
    def kube(self) -> tuple[str, str, str] | None:
        """(namespace, pod, container) for the kube-state-metrics restart counter."""
        k = self.service.kube
        return (k.namespace, k.pod, k.container) if k else None

    def scrape_job(self) -> ScrapeJob | None:
        """The Prometheus job scraping this service, if it serves metrics."""
        if self.service.metrics is None:
            return None
        labels = {"stack": self.stack.spec.name, **self.service.scrape_labels}
        return ScrapeJob(self.service.scrape_job, (self.address,), self.service.metrics, labels)

    def prepare(self, ctx: RunContext) -> Launch:
        """Make sure every edge's proxy exists, then run the program with its environment."""
        self._ensure_proxies(ctx.url("toxiproxy"))
        env = {
            **os.environ,
            **self.service.env,
            "SLOVERIFY_STACK": self.stack.spec.name,
            "SLOVERIFY_SERVICE": self.name,
            "SLOVERIFY_TIME_SCALE": str(ctx.scale),
            "PYTHONPATH": os.pathsep.join([str(COMMON), str(self.stack.folder)]),
            "PYTHONUNBUFFERED": "1",
            "PORT" if self.service.http else "METRICS_PORT": str(self.port),
        }
        env.update({e.env: e.client_url() for e in self.edges})
        program = self.stack.program(self.service)
        return Launch(
            [sys.executable, str(program), *self.service.args], env=env, cwd=self.stack.folder
        )

    def _ensure_proxies(self, toxiproxy: str) -> None:
        # Idempotent: a restarted service finds its proxies, toxics included, as they were.
        with ToxiproxyClient(toxiproxy) as client:
            try:
                existing = client.proxies()
                for e in self.edges:
                    if e.name not in existing:
                        client.create_proxy(
                            e.name, e.listen_address, f"127.0.0.1:{e.upstream_port}"
                        )
            except ToxiproxyError as exc:
                raise ComponentFailed(
                    self.name, f"could not create its proxies: {exc}", [], ""
                ) from exc

    def ready(self) -> bool:
        """The health path answers 200 (workers: the metrics path)."""
        path = self.service.health if self.service.http else (self.service.metrics or "/metrics")
        return http_ok(f"{self.url}{path}")


def stack_components(
    stack: LoadedStack, dependencies: dict[str, Component]
) -> list[ServiceComponent]:
    """The stack's services with their edges planned against the given dependency components.

    A Kafka component gets one listener per Kafka edge (added here, before it starts).
    """
    ports = {s.name: free_port() for s in stack.spec.services}
    out: list[ServiceComponent] = []
    for s in stack.spec.services:
        edges = []
        for use in s.uses:
            name, listen = s.edge_name(use), free_port()
            target = dependencies.get(use.target)
            if isinstance(target, Kafka):
                upstream = target.add_edge_listener(name, listen)
            elif isinstance(target, Postgres | Mongo):
                upstream = target.port
            elif use.target in ports:
                upstream = ports[use.target]
            else:
                raise ValueError(f"{s.name}: no component for edge target {use.target!r}")
            edges.append(Edge(name, s.name, use.target, use.env, listen, upstream))
        component = ServiceComponent(stack, s, tuple(edges))
        component.port = ports[s.name]
        out.append(component)
    return out
