"""The runtime's components: how each is prepared, started, and known to be ready.

Readiness is real: Prometheus and Alertmanager answer ``/-/ready``, Toxiproxy ``/version``,
PostgreSQL a query, Kafka a metadata request, the Mongo server ``ping``.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import httpx

from sloverify._exceptions import ComponentFailed
from sloverify.adapters.runtime.config import (
    DEFAULT_SEVERITIES,
    ScrapeJob,
    alertmanager_config,
    lookback_delta,
    prometheus_config,
    scaled,
)
from sloverify.adapters.runtime.ports import free_port
from sloverify.adapters.runtime.registry import RunDir
from sloverify.adapters.tools import Tool, Tools
from sloverify.spec import Duration


@dataclass(frozen=True)
class Launch:
    """What to execute for a component."""

    command: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None


@dataclass
class RunContext:
    """What components need to prepare themselves: folders, tools, scale, their peers."""

    run: RunDir
    tools: Tools
    scale: Fraction = Fraction(1)
    rule_files: list[Path] = field(default_factory=list)
    scrape_jobs: list[ScrapeJob] = field(default_factory=list)
    severities: tuple[str, ...] = DEFAULT_SEVERITIES
    peers: dict[str, Component] = field(default_factory=dict)

    def url(self, name: str) -> str:
        """A peer component's base URL."""
        return self.peers[name].url


class Component(ABC):
    """One process of the embedded runtime."""

    name: str = ""
    depends_on: tuple[str, ...] = ()
    ready_timeout: float = 30.0

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", external: bool = False
    ) -> None:
        self.port = port or free_port()
        self.host = host
        # External: somebody else runs it (a staging Prometheus, a sidecar); we only check it.
        self.external = external

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL clients use."""
        return f"http://{self.address}"

    @property
    def ports(self) -> dict[str, int]:
        """Every port the component listens on, by role."""
        return {"main": self.port}

    @abstractmethod
    def prepare(self, ctx: RunContext) -> Launch:
        """Write configuration and data folders (idempotently) and say what to run."""

    @abstractmethod
    def ready(self) -> bool:
        """One readiness probe; never raises."""


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


class Prometheus(Component):
    """Prometheus with generated config and rules; reloads through the lifecycle API."""

    name = "prometheus"
    depends_on = ("alertmanager",)

    def prepare(self, ctx: RunContext) -> Launch:
        """Write prometheus.yml and copy rule files into the run."""
        rules = ctx.run.path / "rules"
        rules.mkdir(exist_ok=True)
        for f in ctx.rule_files:
            shutil.copy(f, rules / f.name)
        am = ctx.peers.get("alertmanager")
        jobs = [ScrapeJob("prometheus", (self.address,)), *ctx.scrape_jobs]
        if am is not None:
            jobs.append(ScrapeJob("alertmanager", (am.address,)))
        config = ctx.run.config("prometheus.yml")
        config.write_text(
            prometheus_config(ctx.scale, am.address if am else None, jobs, str(rules / "*.yml"))
        )
        resend = scaled(Duration.parse("1s"), ctx.scale)
        return Launch([
            str(ctx.tools.get(Tool.PROMETHEUS)),
            f"--config.file={config}",
            f"--storage.tsdb.path={ctx.run.data('prometheus')}",
            f"--web.listen-address={self.address}",
            "--web.enable-lifecycle",
            "--web.enable-admin-api",
            # Without it the first notification reaches Alertmanager a minute late.
            f"--rules.alert.resend-delay={resend.prometheus()}",
            f"--query.lookback-delta={lookback_delta(ctx.scale).prometheus()}",
        ])  # fmt: skip

    def ready(self) -> bool:
        """``/-/ready`` answers 200."""
        return _http_ok(f"{self.url}/-/ready")

    def reload(self) -> None:
        """Ask Prometheus to re-read its configuration and rules."""
        httpx.post(f"{self.url}/-/reload", timeout=10.0).raise_for_status()


class Alertmanager(Component):
    """Alertmanager routing by severity to sloverify's webhook; gossip off."""

    name = "alertmanager"
    depends_on = ("webhook",)

    def prepare(self, ctx: RunContext) -> Launch:
        """Write alertmanager.yml."""
        config = ctx.run.config("alertmanager.yml")
        config.write_text(alertmanager_config(ctx.scale, ctx.url("webhook"), ctx.severities))
        return Launch([
            str(ctx.tools.get(Tool.ALERTMANAGER)),
            f"--config.file={config}",
            f"--storage.path={ctx.run.data('alertmanager')}",
            f"--web.listen-address={self.address}",
            "--cluster.listen-address=",  # empty: no gossip, no port clash between runs
        ])  # fmt: skip

    def ready(self) -> bool:
        """``/-/ready`` answers 200."""
        return _http_ok(f"{self.url}/-/ready")


class Webhook(Component):
    """sloverify's receiver that records every Alertmanager notification."""

    name = "webhook"
    ready_timeout = 15.0

    def prepare(self, ctx: RunContext) -> Launch:
        """Record to ``notifications.jsonl`` in the run folder."""
        self.out = ctx.run.path / "notifications.jsonl"
        return Launch([
            sys.executable, "-m", "sloverify.adapters.runtime.webhook",
            "--port", str(self.port), "--out", str(self.out),
        ])  # fmt: skip

    def ready(self) -> bool:
        """``/-/ready`` answers 200."""
        return _http_ok(f"{self.url}/-/ready")


class Toxiproxy(Component):
    """The Toxiproxy server; proxies are created by stacks and experiments."""

    name = "toxiproxy"

    def prepare(self, ctx: RunContext) -> Launch:
        """Listen on the API port."""
        return Launch(
            [str(ctx.tools.get(Tool.TOXIPROXY)), "-host", "127.0.0.1", "-port", str(self.port)]
        )

    def ready(self) -> bool:
        """``/version`` answers 200."""
        return _http_ok(f"{self.url}/version")


class Postgres(Component):
    """A private PostgreSQL cluster in the run folder (as the postgres user when root)."""

    name = "postgres"

    @property
    def url(self) -> str:
        """A libpq URL for the superuser."""
        return f"postgresql://postgres@{self.address}/postgres"

    def prepare(self, ctx: RunContext) -> Launch:
        """initdb once, then run postgres on 127.0.0.1 only, without unix sockets."""
        bindir = ctx.tools.get(Tool.POSTGRES_BIN)
        data = ctx.run.data("postgres") / "cluster"
        as_user: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; its files must belong to postgres.
            as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(data.parent, "postgres", "postgres")
        if not (data / "PG_VERSION").exists():
            command = [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                       "--auth=trust", "-E", "UTF8", "--no-sync"]  # fmt: skip
            proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
            if proc.returncode != 0:
                raise ComponentFailed(
                    self.name, "initdb failed", command, proc.stdout + proc.stderr
                )
        return Launch([
            *as_user, str(bindir / "postgres"), "-D", str(data),
            "-c", "listen_addresses=127.0.0.1", "-p", str(self.port),
            "-c", "unix_socket_directories=", "-c", "fsync=off",
        ])  # fmt: skip

    def ready(self) -> bool:
        """``SELECT 1`` answers."""
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=1) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.Error:
            return False


class Kafka(Component):
    """A one-node KRaft Kafka; the controller port is kept off 9093."""

    name = "kafka"
    ready_timeout = 90.0

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        external: bool = False,
        controller_port: int | None = None,
    ) -> None:
        super().__init__(port, host, external)
        self.controller_port = controller_port or free_port()

    @property
    def url(self) -> str:
        """The bootstrap server."""
        return self.address

    @property
    def ports(self) -> dict[str, int]:
        """Broker and controller ports."""
        return {"main": self.port, "controller": self.controller_port}

    def prepare(self, ctx: RunContext) -> Launch:
        """server.properties, storage formatted once, then ``kafka.Kafka``."""
        java, libs = ctx.tools.get(Tool.JAVA), ctx.tools.get(Tool.KAFKA_LIBS)
        data = ctx.run.data("kafka")
        props = ctx.run.config("kafka.properties")
        props.write_text(_kafka_properties(self, data / "logs"))
        log4j = ctx.run.config("kafka-log4j.properties")
        log4j.write_text(_LOG4J)
        classpath = ["-cp", f"{libs}/*", f"-Dlog4j.configuration=file:{log4j}"]
        if not (data / "logs" / "meta.properties").exists():
            cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            command = [str(java), *classpath, "kafka.tools.StorageTool", "format",
                       "-t", cluster, "-c", str(props)]  # fmt: skip
            proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
            if proc.returncode != 0:
                raise ComponentFailed(
                    self.name, "storage format failed", command, proc.stdout + proc.stderr
                )
        return Launch([str(java), "-Xmx512m", "-Xms128m", *classpath, "kafka.Kafka", str(props)])

    def ready(self) -> bool:
        """A metadata request answers."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.address,
                request_timeout_ms=2000,
                api_version_auto_timeout_ms=2000,
            )
        except (KafkaError, OSError, ValueError):
            return False
        try:
            admin.list_topics()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()


def _kafka_properties(k: Kafka, logs: Path) -> str:
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{k.controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{k.port},CONTROLLER://127.0.0.1:{k.controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{k.port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={logs}",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "",
    ])  # fmt: skip


_LOG4J = """log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
"""


class Mongo(Component):
    """FerretDB on SQLite: the MongoDB wire protocol (no transactions, no change streams)."""

    name = "mongo"

    @property
    def url(self) -> str:
        """A MongoDB URL."""
        return f"mongodb://{self.address}/"

    def prepare(self, ctx: RunContext) -> Launch:
        """Store SQLite files in the run folder."""
        return Launch([
            str(ctx.tools.get(Tool.FERRETDB)),
            f"--listen-addr={self.address}",
            f"--sqlite-dir={ctx.run.data('mongo')}",
        ])  # fmt: skip

    def ready(self) -> bool:
        """``ping`` answers."""
        import pymongo
        from pymongo.errors import PyMongoError

        try:
            client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
                self.url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
            )
            try:
                return client.admin.command("ping").get("ok") == 1.0
            finally:
                client.close()
        except PyMongoError:
            return False


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
