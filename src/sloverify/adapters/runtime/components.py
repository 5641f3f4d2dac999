"""The runtime's components: how each is prepared, started, and known to be ready.

Readiness is real: Prometheus and Alertmanager answer ``/-/ready``, Toxiproxy ``/version``,
PostgreSQL a query, Kafka a metadata request, the Mongo server ``ping``.
"""

from __future__ import annotations

import httpx

from sloverify.adapters.runtime.component import Component, Launch, RunContext, http_ok
from sloverify.adapters.runtime.datastores import Kafka, Mongo, Postgres
from sloverify.adapters.runtime.monitoring import Alertmanager, Prometheus, Toxiproxy, Webhook

__all__ = [
    "KINDS",
    "Alertmanager",
    "Component",
    "Kafka",
    "Launch",
    "Mongo",
    "Postgres",
    "Prometheus",
    "RunContext",
    "Toxiproxy",
    "Webhook",
    "core_components",
    "external_component",
    "http_ok",
]


KINDS: dict[str, type[Component]] = {
    c.name: c for c in (Toxiproxy, Postgres, Kafka, Mongo, Webhook, Alertmanager, Prometheus)
}


def core_components(external: dict[str, str] | None = None) -> list[Component]:
    """Every component of the embedded default; those named in ``external`` are only checked."""
    out: list[Component] = []
    for name, kind in KINDS.items():
        url = (external or {}).get(name)
        out.append(kind() if url is None else external_component(name, url))
    return out


def external_component(name: str, url: str) -> Component:
    """A component somebody else runs, at ``url`` (http://host:port, postgresql://..., host:port)."""
    if name not in KINDS:
        raise ValueError(f"unknown component {name!r}; known: {', '.join(KINDS)}")
    parsed = httpx.URL(url if "://" in url else f"tcp://{url}")
    if parsed.port is None:
        raise ValueError(f"{name}: {url!r} has no port")
    component = KINDS[name](port=parsed.port, host=parsed.host or "127.0.0.1", external=True)
    component.ready_timeout = 10.0  # it should already run; do not wait as for a cold start
    return component
