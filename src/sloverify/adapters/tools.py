"""Where the bootstrap put each external tool: ``.venv/sloverify-tools.json``, env overrides.

``ci/bootstrap`` writes the manifest after installing every tool into the per-user cache.
``SLOVERIFY_TOOL_<NAME>`` (upper case) overrides one entry, for a tool installed elsewhere.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sloverify._exceptions import ToolNotFound

MANIFEST = "sloverify-tools.json"
INSTALL = "ci/bootstrap"


class Tool(StrEnum):
    """Every external tool the runtime starts."""

    PROMETHEUS = "prometheus"
    PROMTOOL = "promtool"
    ALERTMANAGER = "alertmanager"
    POSTGRES_BIN = "postgres_bin"  # the folder holding initdb, postgres, pg_ctl
    TOXIPROXY = "toxiproxy"
    FERRETDB = "ferretdb"
    KAFKA_LIBS = "kafka_libs"  # the folder of Kafka's jars
    JAVA = "java"
    LOCUST = "locust"  # its own venv's locust: run as a subprocess, never imported


@dataclass(frozen=True)
class Tools:
    """Resolved tool paths."""

    paths: dict[Tool, Path]

    @classmethod
    def load(cls, manifest: Path | None = None) -> Tools:
        """Read the manifest beside the running interpreter's venv, then apply env overrides."""
        path = manifest or Path(sys.prefix) / MANIFEST
        raw: dict[str, str] = {}
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
        paths = {t: Path(raw[t.value]) for t in Tool if t.value in raw}
        for t in Tool:
            override = os.environ.get(f"SLOVERIFY_TOOL_{t.value.upper()}")
            if override:
                paths[t] = Path(override)
        return cls(paths)

    def get(self, tool: Tool) -> Path:
        """The path of a tool; ToolNotFound, naming the bootstrap, when it is missing."""
        path = self.paths.get(tool)
        if path is None or not path.exists():
            raise ToolNotFound(
                tool.value, f"{INSTALL} (or set SLOVERIFY_TOOL_{tool.value.upper()})"
            )
        return path
