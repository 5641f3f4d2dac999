"""A worker that polls the API through its edge and counts the answers it got."""

import os
import time

import httpx
import refsvc
from prometheus_client import Counter

polls = Counter("demo_polls", "Polls of the API, by outcome.", ["outcome"])

if __name__ == "__main__":
    refsvc.serve_metrics()
    url = os.environ["API_URL"]
    with httpx.Client(timeout=refsvc.CLIENT_TIMEOUT, trust_env=False) as client:
        while True:
            try:
                ok = client.get(f"{url}/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            polls.labels("ok" if ok else "error").inc()
            time.sleep(0.2)
