"""A tiny HTTP service for the traffic tests: counts its own requests (the ground truth)."""

from __future__ import annotations

import os
import time

import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

app = FastAPI()
HANDLED = Counter("tiny_requests", "Requests handled, by path and code.", ["path", "code"])
ITEMS: dict[str, dict[str, str]] = {}


@app.get("/health")
def health() -> dict[str, str]:
    HANDLED.labels("/health", "200").inc()
    return {"status": "ok"}


@app.get("/items")
def items() -> dict[str, object]:
    HANDLED.labels("/items", "200").inc()
    return {"items": [{"id": k, **v} for k, v in sorted(ITEMS.items())], "service": "tiny"}


@app.post("/items", status_code=201)
def create(body: dict[str, str]) -> dict[str, str]:
    HANDLED.labels("/items", "201").inc()
    key = str(len(ITEMS) + 1)
    ITEMS[key] = body
    return {"id": key, **body}


@app.get("/items/{key}")
def item(key: str, response: Response) -> dict[str, str]:
    if key not in ITEMS:
        HANDLED.labels("/items/{key}", "404").inc()
        response.status_code = 404
        return {"error": "not found"}
    HANDLED.labels("/items/{key}", "200").inc()
    return {"id": key, **ITEMS[key]}


@app.get("/slow")
def slow() -> dict[str, str]:
    time.sleep(0.2)
    HANDLED.labels("/slow", "200").inc()
    return {"status": "slow"}


@app.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
