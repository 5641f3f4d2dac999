"""CA3 Processor: consumes both Kafka streams into MongoDB and serves the Processor API.

One process, as in 004: "the Processor's /health and /gpu/info endpoints" (SLO-1) and
"Processor pods restart" (SLO-4) are the same pod, so a crash takes both down and the
supervisor's restart counter (``kube_pod_container_status_restarts_total``, pod
processor-0) counts it. Its metrics, the API's starlette_exporter series and the pipeline's
``app_*`` series, are one scrape target, ``job="processor"``. It has two edges:
``processor-kafka`` (consuming, committing offsets) and ``processor-mongo`` (the pipeline's
writes and the API's reads, one network path as in one pod).

The pipeline (a thread, see ``ca3pipeline.py``) turns a Mongo or Kafka fault into lag and
catches up afterwards. The API opens a fresh Mongo client per request (see ``ca3store.py``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from ca3pipeline import Pipeline
from ca3store import latest_gpu_info
from fastapi import FastAPI, Query
from pydantic import BaseModel
from refsvc import LATENCY_BUCKETS, DependencyError, dependency_error_handler, serve
from starlette_exporter import PrometheusMiddleware, handle_metrics

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
MONGO_URL = os.environ.get("MONGO_URL", "mongodb://127.0.0.1:27017/")

ERRORS: dict[int | str, dict[str, Any]] = {
    503: {"description": "MongoDB is unavailable or did not answer in time."}
}


class Health(BaseModel):
    """Liveness: the process serves."""

    status: str


class GpuInfo(BaseModel):
    """The latest telemetry sample of one GPU, as the pipeline stored it."""

    gpu_id: str
    host: str
    utilization_percent: float
    memory_used_mb: int
    memory_total_mb: int
    temperature_c: float
    power_w: float
    seq: int
    enqueued_at: float  # when the producer handed the sample to Kafka (epoch seconds)
    updated_at: float  # when the processor wrote it to MongoDB (epoch seconds)


class GpuInfoList(BaseModel):
    """The latest sample of every GPU (or of the one asked for), ordered by id."""

    gpus: list[GpuInfo]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the pipeline beside the API; stop it (committing its offsets) on shutdown."""
    pipeline = Pipeline(BOOTSTRAP, MONGO_URL)
    thread = threading.Thread(target=pipeline.run, name="pipeline", daemon=True)
    thread.start()
    yield
    pipeline.stop()
    thread.join(timeout=3)


app = FastAPI(
    title="CA3 Processor API",
    version="1.0.0",
    lifespan=lifespan,
    exception_handlers={DependencyError: dependency_error_handler},
)
# starlette_exporter as 004 names it: starlette_requests_total and
# starlette_request_duration_seconds with method, path (the route), status_code. /metrics
# is not skipped: its scrapes count as requests, as they would in the document's setup.
app.add_middleware(
    PrometheusMiddleware,
    app_name="processor",
    group_paths=True,
    buckets=LATENCY_BUCKETS,
)
app.add_route("/metrics", handle_metrics, include_in_schema=False)


@app.get("/health")
async def health() -> Health:
    """Liveness and readiness: the process serves (MongoDB is not consulted)."""
    return Health(status="ok")


@app.get("/gpu/info", responses=ERRORS)
async def gpu_info(
    gpu_id: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    ] = None,
) -> GpuInfoList:
    """The latest GPU info from MongoDB (CUJ-1); 503 when MongoDB fails or is too slow."""
    docs = await latest_gpu_info(MONGO_URL, gpu_id)
    return GpuInfoList(gpus=[GpuInfo.model_validate(d) for d in docs])


if __name__ == "__main__":
    serve(app)
