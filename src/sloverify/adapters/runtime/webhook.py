"""sloverify's Alertmanager receiver: records every notification with the time it arrived.

Run as ``python -m sloverify.adapters.runtime.webhook --port P --out FILE``. Each POST to
``/hook/<receiver>`` is appended to FILE as one JSON line and fsync'd before the answer,
so a recorded notification is proof that Alertmanager delivered it. ``GET /notifications``
returns them all; ``GET /-/ready`` answers 200.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(BaseHTTPRequestHandler):
    out: Path
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            self._answer(400, b'{"error": "body is not JSON"}')
            return
        receiver = self.path.removeprefix("/hook/").strip("/") or "default"
        record = {"received_at": time.time(), "receiver": receiver, "payload": payload}
        line = (json.dumps(record) + "\n").encode()
        with self.lock, self.out.open("ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self._answer(200, b"{}")

    def do_GET(self) -> None:
        if self.path == "/-/ready":
            self._answer(200, b"ready")
        elif self.path == "/notifications":
            text = self.out.read_text() if self.out.exists() else ""
            records = [json.loads(x) for x in text.splitlines() if x.strip()]
            self._answer(200, json.dumps(records).encode())
        else:
            self._answer(404, b"not found")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"{self.address_string()} {format % args}", flush=True)


def main() -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    handler = type("Handler", (_Handler,), {"out": args.out})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    print(f"webhook listening on 127.0.0.1:{args.port}, recording to {args.out}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
