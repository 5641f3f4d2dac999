"""The processor's MongoDB access: one database, its collections, client options with timeouts.

The store is FerretDB (the MongoDB wire protocol): no transactions, no change streams, so
every write is a single idempotent upsert and nothing relies on sessions.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from refsvc import DEPENDENCY_TIMEOUT, DependencyError

DATABASE = "ca3"
GPU_INFO = "gpu_info"  # one document per GPU, its latest sample (_id = gpu_id)
TOKEN_EVENTS = "token_events"  # one document per token event (_id = topic:partition:offset)

# Every wait is bounded well under a client's 5 s and under the kit's 1 s deadline, so
# pymongo's own error (naming what failed) usually wins the race against asyncio.timeout.
# A standalone FerretDB: a direct connection, no retryable writes (they need a replica set).
OPTIONS: dict[str, Any] = {
    "directConnection": True,
    "serverSelectionTimeoutMS": 800,
    "connectTimeoutMS": 500,
    "socketTimeoutMS": 800,
    "timeoutMS": 800,
    "retryWrites": False,
    "appname": "ca3-processor",
}


async def latest_gpu_info(url: str, gpu_id: str | None) -> list[dict[str, Any]]:
    """The latest sample of every GPU (or of ``gpu_id``), by a fresh client; errors are 503s.

    Fresh per request on purpose: Toxiproxy decides a toxic's ``toxicity`` per TCP
    connection, and a pooled client would keep its healthy connections and drop only the
    reset ones, so a 30% ``reset_peer`` would fail far fewer than 30% of requests. A fresh
    client opens two connections (its monitor's and the one the query uses); reads are not
    retried (``retryReads=False``), so a reset on the query's connection fails the request,
    while a reset monitor connection is re-checked within the selection timeout and
    usually does not.
    """
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, retryReads=False, **OPTIONS)
    try:
        async with asyncio.timeout(DEPENDENCY_TIMEOUT):
            query = {} if gpu_id is None else {"gpu_id": gpu_id}
            cursor = client[DATABASE][GPU_INFO].find(query, {"_id": 0}).sort("gpu_id", 1)
            return await cursor.to_list(length=256)
    except TimeoutError as exc:
        raise DependencyError("mongo", f"no answer within {DEPENDENCY_TIMEOUT:g}s") from exc
    except (PyMongoError, OSError) as exc:
        raise DependencyError("mongo", str(exc).strip() or type(exc).__name__) from exc
    finally:
        await _close(client)


async def _close(client: AsyncMongoClient[dict[str, Any]]) -> None:
    # Closing may talk to the server (endSessions); a frozen edge must not hold the answer.
    try:
        async with asyncio.timeout(0.5):
            await client.close()
    except (TimeoutError, PyMongoError, OSError):
        pass
