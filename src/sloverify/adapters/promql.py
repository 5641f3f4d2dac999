"""PromQL inspection by Prometheus's own parser (``sloverify-promql-inspect``, built by ci/bootstrap).

Also ships :class:`StaticInspector`, a fake for tests of the pure layers: it answers from a
table and says so when asked about an expression it does not know.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sloverify._exceptions import ToolFailed, ToolNotFound
from sloverify.rules.queries import Matcher, QueryFacts, Selector

BINARY = "sloverify-promql-inspect"
INSTALL = "ci/bootstrap (it builds ci/promql-inspect with Go)"
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class GoInspector:
    """Runs the Go helper once per batch of expressions."""

    def __init__(
        self, binary: str | None = None, runner: Runner = subprocess.run, timeout: float = 60
    ) -> None:
        self._binary = binary
        self._run = runner
        self._timeout = timeout

    def _path(self) -> str:
        if self._binary:
            return self._binary
        found = shutil.which(BINARY)
        if found:
            return found
        beside = Path(sys.executable).parent / BINARY
        if beside.exists():
            return str(beside)
        raise ToolNotFound(BINARY, INSTALL)

    def inspect(self, exprs: Sequence[str]) -> list[QueryFacts]:
        """Facts for each expression, in order."""
        if not exprs:
            return []
        command = [self._path()]
        try:
            proc = self._run(
                command,
                input=json.dumps(list(exprs)),
                capture_output=True,
                text=True,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ToolFailed(command, str(exc)) from exc
        if proc.returncode != 0:
            raise ToolFailed(command, proc.stderr)
        try:
            return [_facts(item) for item in json.loads(proc.stdout)]
        except (ValueError, KeyError, TypeError) as exc:
            raise ToolFailed(command, f"unexpected output: {exc}: {proc.stdout[:200]}") from exc


def _facts(item: Mapping[str, object]) -> QueryFacts:
    error = item.get("error")
    selectors = tuple(
        Selector(
            metric=str(s["metric"]),
            matchers=tuple(
                Matcher(str(m["name"]), str(m["op"]), str(m["value"])) for m in s["matchers"]
            ),
        )
        for s in item.get("selectors") or []  # type: ignore[attr-defined]
    )
    return QueryFacts(str(error) if error else None, selectors)


class StaticInspector:
    """A fake inspector answering from a table: for unit tests of lint and loading."""

    def __init__(self, table: Mapping[str, QueryFacts]) -> None:
        self._table = dict(table)

    def inspect(self, exprs: Sequence[str]) -> list[QueryFacts]:
        """Facts from the table; an unknown expression is a test bug, reported as such."""
        missing = [e for e in exprs if e not in self._table]
        if missing:
            raise KeyError(f"StaticInspector has no facts for: {missing[0]!r}")
        return [self._table[e] for e in exprs]
