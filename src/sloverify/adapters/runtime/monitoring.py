"""Prometheus, Alertmanager, sloverify's webhook and Toxiproxy as runtime components."""

from __future__ import annotations

import shutil
import sys

import httpx

from sloverify.adapters.runtime.component import Component, Launch, RunContext, http_ok
from sloverify.adapters.runtime.config import (
    ScrapeJob,
    alertmanager_config,
    lookback_delta,
    prometheus_config,
    scaled,
)
from sloverify.adapters.tools import Tool
from sloverify.spec import Duration


class Prometheus(Component):
    """Prometheus with generated config and rules; reloads through the lifecycle API."""

    name = "prometheus"
    depends_on = ("alertmanager",)

    def prepare(self, ctx: RunContext) -> Launch:
        """Write prometheus.yml and copy rule files into the run."""
        rules = ctx.run.path / "rules"
        rules.mkdir(exist_ok=True)
        for old in rules.glob("*.yml"):
            if old.name not in {f.name for f in ctx.rule_files}:
                old.unlink()  # a rule file no longer wanted must not stay loaded
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
        return Launch(
            [
                str(ctx.tools.get(Tool.PROMETHEUS)),
                f"--config.file={config}",
                f"--storage.tsdb.path={ctx.run.data('prometheus')}",
                f"--web.listen-address={self.address}",
                "--web.enable-lifecycle",
                "--web.enable-admin-api",
                # Without it the first notification reaches Alertmanager a minute late.
                f"--rules.alert.resend-delay={resend.prometheus()}",
                f"--query.lookback-delta={lookback_delta(ctx.scale).prometheus()}",
            ]
        )

    def ready(self) -> bool:
        """``/-/ready`` answers 200."""
        return http_ok(f"{self.url}/-/ready")

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
        return Launch(
            [
                str(ctx.tools.get(Tool.ALERTMANAGER)),
                f"--config.file={config}",
                f"--storage.path={ctx.run.data('alertmanager')}",
                f"--web.listen-address={self.address}",
                "--cluster.listen-address=",  # empty: no gossip, no port clash between runs
            ]
        )

    def ready(self) -> bool:
        """``/-/ready`` answers 200."""
        return http_ok(f"{self.url}/-/ready")

    def reload(self) -> None:
        """Ask Alertmanager to re-read its configuration."""
        httpx.post(f"{self.url}/-/reload", timeout=10.0).raise_for_status()


class Webhook(Component):
    """sloverify's receiver that records every Alertmanager notification."""

    name = "webhook"
    ready_timeout = 15.0

    def prepare(self, ctx: RunContext) -> Launch:
        """Record to ``notifications.jsonl`` in the run folder."""
        self.out = ctx.run.path / "notifications.jsonl"
        return Launch(
            [
                sys.executable,
                "-m",
                "sloverify.adapters.runtime.webhook",
                "--port",
                str(self.port),
                "--out",
                str(self.out),
            ]
        )

    def ready(self) -> bool:
        """``/-/ready`` answers 200."""
        return http_ok(f"{self.url}/-/ready")


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
        return http_ok(f"{self.url}/version")
