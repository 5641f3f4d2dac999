"""The one exception tree of sloverify.

Every error the tool raises on purpose is a ``SloverifyError``. The tree separates
"your input is wrong" (exit 2) from "the harness could not decide" (exit 3); an SLO or
alert that misbehaves is never an exception, it is a failed verdict (exit 1)::

    SloverifyError
    ├── InputError                 exit 2: fix the spec, the experiment or the flags
    │   ├── SpecError              one located problem in a spec file (file:line, field, hint)
    │   │   └── PromQLError        an expression Prometheus's parser rejects
    │   └── SpecErrors             several SpecErrors found in one pass
    └── HarnessError               exit 3: the tool or an outside component failed
        ├── ToolNotFound           a binary (promtool, ...) is missing: message says how to install
        ├── ToolFailed             a tool ran and failed in a way that is not the input's fault
        ├── ComponentFailed        a runtime component did not start or become ready: command, log
        ├── Unreachable            a URL (external component) does not answer
        ├── QueryFailed            Prometheus rejected a query at run time (its message)
        ├── ToxiproxyError         a Toxiproxy API call failed (status, body), or timed out
        └── RollbackFailed         faults that could not be removed; they stay active in the ledger

Foreign errors (ruamel, pydantic, subprocess) are translated into this tree where they enter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class SloverifyError(Exception):
    """Base of every error sloverify raises on purpose."""

    exit_code = 3


class InputError(SloverifyError):
    """The user's input is wrong; nothing was run or applied."""

    exit_code = 2


@dataclass(frozen=True)
class Location:
    """A place in an input file: path, 1-based line and the dotted field path."""

    path: Path | None
    line: int | None = None
    field: str = ""

    def __str__(self) -> str:
        where = str(self.path) if self.path else "<spec>"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return where


class SpecError(InputError):
    """One problem in a spec, located by file, line and field, with a hint to fix it."""

    def __init__(self, location: Location, message: str, hint: str = "") -> None:
        self.location = location
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class PromQLError(SpecError):
    """A PromQL expression in a spec that Prometheus's parser rejects."""


class SpecErrors(InputError):
    """Several located spec problems found in one pass, reported together."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

    @staticmethod
    def of(found: Iterable[SpecError | SpecErrors]) -> SpecError | SpecErrors:
        """What a loader raises for the problems it found: one error alone, else all in file order."""
        flat = [e for f in found for e in (f.errors if isinstance(f, SpecErrors) else [f])]
        if not flat:
            raise ValueError("SpecErrors.of needs at least one error")
        flat.sort(key=lambda e: (str(e.location.path), e.location.line or 0))
        return flat[0] if len(flat) == 1 else SpecErrors(flat)


class HarnessError(SloverifyError):
    """The harness itself could not do its work; the input may be fine."""

    exit_code = 3


class ToolNotFound(HarnessError):
    """A required binary is missing; the message carries the install command."""

    def __init__(self, tool: str, install: str) -> None:
        self.tool = tool
        self.install = install
        super().__init__(f"{tool} not found on PATH; install it with: {install}")


class ToolFailed(HarnessError):
    """A tool ran and failed for a reason that is not the input's fault."""

    def __init__(self, command: list[str], output: str) -> None:
        self.command = command
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-20:])
        super().__init__(f"command failed: {' '.join(command)}\n{tail}")


class ComponentFailed(HarnessError):
    """A runtime component failed to start or to become ready; carries its command and log tail."""

    def __init__(self, component: str, reason: str, command: list[str], log_tail: str) -> None:
        self.component = component
        self.reason = reason
        self.command = command
        self.log_tail = log_tail
        tail = "\n".join("    " + line for line in log_tail.strip().splitlines()[-20:])
        super().__init__(
            f"{component} {reason}\n  command: {' '.join(command)}\n  log tail:\n{tail or '    (empty)'}"
        )


class Unreachable(HarnessError):
    """A component given by URL does not answer."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(f"{url} is unreachable: {detail}; check that it runs and the URL is right")


class QueryFailed(HarnessError):
    """Prometheus answered a query with an error: the expression and Prometheus's message."""

    def __init__(self, expr: str, detail: str) -> None:
        self.expr = expr
        self.detail = detail
        super().__init__(f"Prometheus rejected {expr!r}: {detail}")


class ToxiproxyError(HarnessError):
    """A Toxiproxy API call failed: its method, URL, status (0 for a transport error) and body."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        what = f"HTTP {status}" if status else "no answer"
        super().__init__(f"toxiproxy {method} {url}: {what}: {body.strip()[:300]}")


class RollbackFailed(HarnessError):
    """Faults a rollback could not remove (they stay active in the ledger): what, and why."""

    def __init__(self, failed: list[tuple[str, str]]) -> None:
        self.failed = failed
        lines = "\n".join(f"  {what}: {why}" for what, why in failed)
        super().__init__(f"{len(failed)} fault(s) could not be rolled back:\n{lines}")
