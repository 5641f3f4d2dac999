"""One attempt of a synthetic probe: HTTP uptime, API assertion, SQL query, or a journey.

Every attempt ends in a result, never an exception: a refused connection is ``error``, a wrong
status or body is ``failure``, no answer within the probe's timeout is ``timeout``. There are no
retries: each attempt is counted, so a flapping service shows in the probes' availability.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

import httpx
import psycopg
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from sloverify._exceptions import InputError
from sloverify.spec.synthetic import (
    ApiProbe,
    DbProbe,
    Expect,
    JourneyProbe,
    LoadedSynthetic,
    ProbeKind,
    Request,
    Schedule,
    UptimeProbe,
)

AnyProbe = UptimeProbe | ApiProbe | DbProbe | JourneyProbe
_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Result(StrEnum):
    """How an attempt ended: the ``result`` label of ``sloverify_probe_results_total``."""

    SUCCESS = "success"
    FAILURE = "failure"  # it answered, wrongly (status, body, too few rows)
    TIMEOUT = "timeout"  # no answer within the probe's timeout
    ERROR = "error"  # no answer at all (refused, reset, DNS)


@dataclass(frozen=True)
class Attempt:
    """One finished attempt: when it was due, when it started, how it ended and why."""

    probe: str
    kind: ProbeKind
    result: Result
    duration: float
    scheduled: float  # the event loop's clock
    started: float
    detail: str = ""


@dataclass(frozen=True)
class PlannedProbe:
    """A scheduled probe with its target resolved to a URL."""

    schedule: Schedule
    url: str

    @property
    def name(self) -> str:
        """The probe's name."""
        return self.schedule.probe.name


@dataclass(frozen=True)
class ProbePlan:
    """Everything a scheduler needs: the stack's name and its resolved probes."""

    stack: str
    probes: tuple[PlannedProbe, ...]


def plan(loaded: LoadedSynthetic, targets: Mapping[str, str], scale: Fraction) -> ProbePlan:
    """Resolve every probe's target (a name of ``targets``, or a URL); InputError if unknown."""
    missing: list[str] = []
    out: list[PlannedProbe] = []
    for i, s in enumerate(loaded.schedules(scale)):
        target = s.probe.target
        url = target if "://" in target else targets.get(target)
        if url is None:
            missing.append(f"{loaded.locate(('probes', i, 'target'))}: {target!r}")
            continue
        if isinstance(s.probe, DbProbe) and (s.probe.collection is None) == _is_mongo(url):
            wanted = "a MongoDB" if s.probe.collection else "a PostgreSQL"
            missing.append(f"{loaded.locate(('probes', i, 'target'))}: {target!r} is not {wanted}")
            continue
        out.append(PlannedProbe(s, url.rstrip("/") if s.probe.kind is not ProbeKind.DB else url))
    if missing:
        known = ", ".join(sorted(targets)) or "none"
        raise InputError(
            "unknown (or wrong kind of) probe targets:\n  "
            + "\n  ".join(missing)
            + f"\n  hint: targets known here: {known}; or pass --target NAME=URL"
        )
    return ProbePlan(loaded.spec.stack, tuple(out))


async def attempt(probe: PlannedProbe, client: httpx.AsyncClient, scheduled: float) -> Attempt:
    """Run one attempt within its timeout; the outcome is data, never an exception."""
    p, started = probe.schedule.probe, asyncio.get_running_loop().time()
    clock = time.perf_counter()
    try:
        async with asyncio.timeout(probe.schedule.timeout):
            result, detail = await _run(p, probe.url, client, probe.schedule.timeout)
    except TimeoutError:
        result, detail = Result.TIMEOUT, f"no answer within {probe.schedule.timeout:.3g}s"
    except (httpx.HTTPError, psycopg.Error, PyMongoError, OSError) as exc:
        result, detail = Result.ERROR, " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    except Exception as exc:  # a probe must never stop the checker
        result, detail = Result.ERROR, f"{type(exc).__name__}: {exc}"[:200]
    return Attempt(p.name, p.kind, result, time.perf_counter() - clock, scheduled, started, detail)


async def _run(
    p: AnyProbe, url: str, client: httpx.AsyncClient, timeout: float
) -> tuple[Result, str]:
    if isinstance(p, UptimeProbe):
        r = await client.get(url + p.path)
        if r.status_code != p.status:
            return Result.FAILURE, f"GET {p.path}: {r.status_code}, expected {p.status}"
        return Result.SUCCESS, ""
    if isinstance(p, ApiProbe):
        return _judge(p, await _send(client, url, p, {}))
    if isinstance(p, DbProbe):
        return await _query(p, url, timeout)
    saved: dict[str, str] = {}
    for n, step in enumerate(p.steps, start=1):
        answer = await _send(client, url, step, saved)
        result, detail = _judge(step, answer)
        if result is not Result.SUCCESS:
            return result, f"step {n} ({step.name or step.path}): {detail}"
        body = _json(answer)
        for name, path in step.save.items():
            found, value = json_path(body, path)
            if not found:
                return Result.FAILURE, f"step {n}: nothing at {path} to save as {name!r}"
            saved[name] = str(value)
    return Result.SUCCESS, ""


async def _send(
    client: httpx.AsyncClient, base: str, req: Request, saved: Mapping[str, str]
) -> httpx.Response:
    path = _fill(req.path, saved)
    body = _fill(req.body, saved) if req.body is not None else None
    return await client.request(
        req.method.value, base + path, json=body, headers=_fill(req.headers, saved)
    )


def _judge(req: Request, r: httpx.Response) -> tuple[Result, str]:
    expect: Expect = req.expect
    head = f"{req.method.value} {r.request.url.path}"
    if r.status_code != expect.status:
        return Result.FAILURE, f"{head}: {r.status_code}, expected {expect.status}"
    if expect.body_contains is not None and expect.body_contains not in r.text:
        return Result.FAILURE, f"{head}: body lacks {expect.body_contains!r}"
    if expect.json_checks:
        body = _json(r)
        for check in expect.json_checks:
            found, value = json_path(body, check.path)
            if check.exists is not None and found != check.exists:
                return Result.FAILURE, f"{head}: {check.path} exists={found}"
            if check.equals is not None and (not found or value != check.equals):
                return Result.FAILURE, f"{head}: {check.path} is {value!r}, not {check.equals!r}"
            if check.contains is not None and not (found and _contains(value, check.contains)):
                return Result.FAILURE, f"{head}: {check.path} does not contain {check.contains!r}"
    return Result.SUCCESS, ""


def _is_mongo(url: str) -> bool:
    return url.startswith("mongodb://")


async def _query(p: DbProbe, url: str, timeout: float) -> tuple[Result, str]:
    if p.collection is not None:
        rows = await _find(p.collection, p.filter, url, timeout)
    else:
        assert p.query is not None  # the model asks for one of the two
        # A fresh connection per attempt: a probe measures whether a client can get in now.
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        try:
            cur = await conn.execute(p.query.encode())
            rows = len(await cur.fetchall()) if cur.description is not None else 0
        finally:
            await conn.close()
    if rows < p.min_rows:
        return Result.FAILURE, f"{rows} row(s), expected at least {p.min_rows}"
    return Result.SUCCESS, ""


async def _find(collection: str, query: dict[str, Any], url: str, timeout: float) -> int:
    # A fresh client per attempt, as for SQL; no retried reads: every attempt counts once.
    database, _, name = collection.partition(".")
    ms = max(1, int(timeout * 1000))
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        url, retryReads=False, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms
    )
    try:
        return len(await client[database][name].find(query).to_list(length=10_000))
    finally:
        await client.close()


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


def json_path(data: Any, path: str) -> tuple[bool, Any]:
    """The value at a ``$.a.b[0]`` path, and whether it exists."""
    value = data
    for m in _PATH_PART.finditer(path):
        key, index = m.group(1), m.group(2)
        if key is not None:
            if not isinstance(value, dict) or key not in value:
                return False, None
            value = value[key]
        else:
            i = int(index)
            if not isinstance(value, list) or i >= len(value):
                return False, None
            value = value[i]
    return True, value


def _contains(value: Any, wanted: Any) -> bool:
    if isinstance(value, str):
        return str(wanted) in value
    if isinstance(value, list):
        return wanted in value
    if isinstance(value, dict) and isinstance(wanted, dict):
        return all(value.get(k) == v for k, v in wanted.items())
    return False


def _fill(value: Any, saved: Mapping[str, str]) -> Any:
    # {name} takes a saved value; other braces (JSON in strings) stay as they are.
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: saved.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _fill(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, saved) for v in value]
    return value
