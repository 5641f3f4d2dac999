"""A one-endpoint service on PostgreSQL, through its edge's proxy."""

import os

import refsvc
from fastapi import FastAPI

app = FastAPI(title="demo")
app.add_middleware(refsvc.HttpMetrics, service="demo-api")
app.add_exception_handler(refsvc.DependencyError, refsvc.dependency_error_handler)
app.add_route("/metrics", refsvc.metrics_endpoint)


@app.get("/health")
async def health() -> dict[str, str]:
    """Alive, without touching the database."""
    return {"status": "ok"}


@app.get("/answer")
async def answer() -> dict[str, int]:
    """A value read from the database."""
    async with refsvc.pg(os.environ["DATABASE_URL"]) as conn:
        row = await (await conn.execute("SELECT 42")).fetchone()
    assert row is not None
    return {"answer": int(row[0])}


if __name__ == "__main__":
    refsvc.serve(app)
