"""PostgreSQL, Kafka (KRaft) and FerretDB (the MongoDB protocol) as runtime components."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from sloverify._exceptions import ComponentFailed
from sloverify.adapters.runtime.component import Component, Launch, RunContext
from sloverify.adapters.runtime.ports import free_port, port_open
from sloverify.adapters.tools import Tool


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
        home = ctx.run.data("postgres")
        as_user: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; its files must belong to postgres, who must
            # be able to reach them: a run folder inside a private (0700) folder is not.
            as_user = ["runuser", "-u", "postgres", "--"]
            if not _traversable(home):
                home = _relocated(ctx)
                home.mkdir(parents=True, exist_ok=True)
                home.parent.chmod(0o755)
                (ctx.run.data("postgres") / "WHERE").write_text(f"{home}\n")
            shutil.chown(home, "postgres", "postgres")
        data = home / "cluster"
        if not (data / "PG_VERSION").exists():
            command = [
                *as_user,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
            if proc.returncode != 0:
                raise ComponentFailed(
                    self.name, "initdb failed", command, proc.stdout + proc.stderr
                )
        return Launch(
            [
                *as_user,
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-c",
                "listen_addresses=127.0.0.1",
                "-p",
                str(self.port),
                "-c",
                "unix_socket_directories=",
                "-c",
                "fsync=off",
            ]
        )

    def cleanup(self, ctx: RunContext) -> None:
        """Remove a cluster that had to live outside the run folder."""
        shutil.rmtree(_relocated(ctx), ignore_errors=True)

    def ready(self) -> bool:
        """``SELECT 1`` answers."""
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=1) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.Error:
            return False


def _relocated(ctx: RunContext) -> Path:
    return Path(f"/tmp/sloverify-{os.getuid()}-postgres") / ctx.run.id


def _traversable(path: Path) -> bool:
    """Whether every ancestor of ``path`` lets other users through."""
    return all(p.stat().st_mode & 0o001 for p in [path, *path.parents])


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
        # Edge name -> (listener port, advertised port): see add_edge_listener.
        self.edge_listeners: dict[str, tuple[int, int]] = {}

    def add_edge_listener(self, edge: str, advertised: int) -> int:
        """A listener for one Toxiproxy edge, advertised at the proxy's port; its own port.

        A client that bootstraps through a proxy is told by the broker's metadata where to
        connect next: without a listener of its own that answer would be the broker's real
        port, and a fault on the edge would break nothing after the first request.
        """
        port = free_port()
        self.edge_listeners[edge] = (port, advertised)
        return port

    @property
    def url(self) -> str:
        """The bootstrap server."""
        return self.address

    @property
    def ports(self) -> dict[str, int]:
        """Broker and controller ports."""
        edges = {f"edge {name}": port for name, (port, _) in self.edge_listeners.items()}
        return {"main": self.port, "controller": self.controller_port, **edges}

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
            command = [
                str(java),
                *classpath,
                "kafka.tools.StorageTool",
                "format",
                # One token: a urlsafe id starts with "-" once in 64 starts, and Kafka's
                # argparse then reads it as an option ("kafka storage format failed").
                f"--cluster-id={cluster}",
                "-c",
                str(props),
            ]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
            if proc.returncode != 0:
                raise ComponentFailed(
                    self.name, "storage format failed", command, proc.stdout + proc.stderr
                )
        return Launch([str(java), "-Xmx512m", "-Xms128m", *classpath, "kafka.Kafka", str(props)])

    def ready(self) -> bool:
        """A metadata request answers."""
        from kafka import KafkaAdminClient
        from kafka.errors import BrokerNotAvailableError, KafkaConnectionError, KafkaTimeoutError

        # kafka-python blocks ~30s against a closed port; a plain connect answers at once.
        if not port_open(self.port, self.host):
            return False
        # Only "not answering yet" errors mean not ready; anything else is a bug to surface.
        not_yet = (KafkaConnectionError, KafkaTimeoutError, BrokerNotAvailableError, OSError)
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.address, request_timeout_ms=2000)
        except not_yet:
            return False
        try:
            admin.list_topics()
            return True
        except not_yet:
            return False
        finally:
            admin.close()


def _kafka_properties(k: Kafka, logs: Path) -> str:
    edges = [(f"EDGE{i}", *ports) for i, ports in enumerate(k.edge_listeners.values(), start=1)]
    listeners = [f"PLAINTEXT://127.0.0.1:{k.port}"]
    listeners += [f"{n}://127.0.0.1:{port}" for n, port, _ in edges]
    advertised = [f"PLAINTEXT://127.0.0.1:{k.port}"]
    advertised += [f"{n}://127.0.0.1:{adv}" for n, _, adv in edges]
    protocols = [
        "PLAINTEXT:PLAINTEXT",
        "CONTROLLER:PLAINTEXT",
        *(f"{n}:PLAINTEXT" for n, *_ in edges),
    ]
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{k.controller_port}",
            f"listeners={','.join(listeners)},CONTROLLER://127.0.0.1:{k.controller_port}",
            f"advertised.listeners={','.join(advertised)}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            f"listener.security.protocol.map={','.join(protocols)}",
            f"log.dirs={logs}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            # One partition, not 50: the first consumer group's lookup creates the offsets
            # topic, and until 50 partitions load its commits fail with NotCoordinator.
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "",
        ]
    )


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
        return Launch(
            [
                str(ctx.tools.get(Tool.FERRETDB)),
                f"--listen-addr={self.address}",
                f"--sqlite-dir={ctx.run.data('mongo')}",
            ]
        )

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
