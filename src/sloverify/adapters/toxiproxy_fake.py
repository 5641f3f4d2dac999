"""An in-memory Toxiproxy 2.12 behind ``httpx.MockTransport``, for tests of code using the client.

It answers the endpoints ``ToxiproxyClient`` calls with the real server's JSON shapes, statuses
and error bodies, including its quirks: unknown attribute names are dropped silently, missing
attributes default to 0, a toxic update merges attributes and ignores name, type and stream,
and listings put upstream toxics before downstream ones. It opens no socket, so it proxies no
traffic: tests of what a toxic does to a connection need the real server.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from itertools import count

import httpx

from sloverify.adapters.toxiproxy import ATTRIBUTES, Stream, ToxicType, ToxiproxyClient

_ROUTE = re.compile(
    r"^/proxies(?:/(?P<proxy>[^/]+)(?:/toxics(?:/(?P<toxic>[^/]+))?(?P<list>/?))?)?$"
)
_PORTS = count(20000)  # stand-ins for the ports the real server would bind


class _Fail(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


@dataclass
class _FakeToxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, int]

    def wire(self) -> dict[str, object]:
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }


@dataclass
class _FakeProxy:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: list[_FakeToxic] = field(default_factory=list)

    def start(self) -> None:
        self.enabled = True
        if self.listen.endswith(":0"):
            self.listen = f"{self.listen[:-2]}:{next(_PORTS)}"

    def sorted_toxics(self) -> list[_FakeToxic]:
        return [t for s in Stream for t in self.toxics if t.stream == s.value]

    def find(self, name: str) -> _FakeToxic:
        for toxic in self.toxics:
            if toxic.name == name:
                return toxic
        raise _Fail(404, "toxic not found")

    def wire(self) -> dict[str, object]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "Logger": {},
            "toxics": [t.wire() for t in self.sorted_toxics()],
        }


def _attributes(kind: str, given: object, base: dict[str, int] | None = None) -> dict[str, int]:
    known = ATTRIBUTES[ToxicType(kind)].model_fields
    merged = dict(base) if base is not None else dict.fromkeys(known, 0)
    if not isinstance(given, dict):
        return merged
    for key, value in given.items():
        if key not in known:
            continue  # the real server drops unknown names without a word
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Fail(400, f"bad request body: json: cannot unmarshal {value!r} into {key}")
        merged[key] = value
    return merged


class FakeToxiproxy:
    """An in-memory Toxiproxy server; ``client()`` returns a ToxiproxyClient wired to it."""

    def __init__(self, base_url: str = "http://toxiproxy.fake:8474", version: str = "git") -> None:
        self.base_url = base_url
        self.version = version
        self.unreachable = False  # set to make every call fail as a refused connection would
        self.proxies: dict[str, _FakeProxy] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path), for assertions
        self._lock = threading.Lock()
        self.transport = httpx.MockTransport(self._handle)

    def client(self, timeout: float = 5.0) -> ToxiproxyClient:
        """A real client whose requests this fake answers."""
        return ToxiproxyClient(self.base_url, timeout=timeout, transport=self.transport)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if self.unreachable:
            raise httpx.ConnectError("connection refused (fake)", request=request)
        with self._lock:
            self.requests.append((request.method, request.url.path))
            try:
                status, body = self._route(request)
            except _Fail as fail:
                error = {"error": fail.message, "status": fail.status}
                payload = json.dumps(error, separators=(",", ":")) + "\n"  # Go's compact form
                return httpx.Response(fail.status, text=payload)
        if body is None:
            return httpx.Response(status)
        return httpx.Response(status, json=body)

    def _route(self, request: httpx.Request) -> tuple[int, object]:
        method, path = request.method, request.url.path
        if path == "/version" and method == "GET":
            return 200, {"version": self.version}
        if path == "/reset" and method == "POST":
            for proxy in self.proxies.values():
                if not proxy.enabled:
                    proxy.start()
                proxy.toxics.clear()
            return 204, None
        match = _ROUTE.match(path)
        if match is None:
            raise _Fail(404, "404 page not found")
        name, toxic, listing = match["proxy"], match["toxic"], match["list"]
        body = self._body(request) if method in ("POST", "PATCH") else {}
        if name is None:
            return self._proxies(method, body)
        if name not in self.proxies:
            raise _Fail(404, "proxy not found")
        proxy = self.proxies[name]
        if toxic is None and listing is None:
            return self._proxy(method, proxy, body)
        if toxic is None:
            return self._toxics(method, proxy, body)
        return self._toxic(method, proxy, proxy.find(toxic), body)

    @staticmethod
    def _body(request: httpx.Request) -> dict[str, object]:
        try:
            body = json.loads(request.content or b"null")
        except ValueError as exc:
            raise _Fail(400, f"bad request body: {exc}") from exc
        return body if isinstance(body, dict) else {}

    def _proxies(self, method: str, body: dict[str, object]) -> tuple[int, object]:
        if method == "GET":
            return 200, {n: p.wire() for n, p in self.proxies.items()}
        if method != "POST":
            raise _Fail(405, "method not allowed")
        name, upstream = str(body.get("name") or ""), str(body.get("upstream") or "")
        if not name or not upstream:
            raise _Fail(400, f"missing required field: {'upstream' if name else 'name'}")
        if name in self.proxies:
            raise _Fail(409, "proxy already exists")
        listen = str(body.get("listen") or "[::]:0")
        proxy = _FakeProxy(name, listen, upstream, enabled=False)
        if body.get("enabled", True):
            proxy.start()
        self.proxies[name] = proxy
        return 201, proxy.wire()

    def _proxy(self, method: str, proxy: _FakeProxy, body: dict[str, object]) -> tuple[int, object]:
        if method == "DELETE":
            del self.proxies[proxy.name]
            return 204, None
        if method in ("POST", "PATCH"):
            proxy.upstream = str(body.get("upstream", proxy.upstream))
            proxy.listen = str(body.get("listen", proxy.listen))
            if body.get("enabled", proxy.enabled):
                proxy.start()
            else:
                proxy.enabled = False
        return 200, proxy.wire()

    def _toxics(
        self, method: str, proxy: _FakeProxy, body: dict[str, object]
    ) -> tuple[int, object]:
        if method == "GET":
            return 200, [t.wire() for t in proxy.sorted_toxics()]
        kind = str(body.get("type", ""))
        if kind not in {t.value for t in ToxicType}:
            raise _Fail(400, "invalid toxic type")
        stream = str(body.get("stream") or Stream.DOWNSTREAM.value)
        if stream not in {s.value for s in Stream}:
            raise _Fail(400, "stream was invalid, can be either upstream or downstream")
        name = str(body.get("name") or f"{kind}_{stream}")
        if any(t.name == name for t in proxy.toxics):
            raise _Fail(409, "toxic already exists")
        toxicity = body.get("toxicity", 1.0)
        toxic = _FakeToxic(
            name,
            kind,
            stream,
            float(toxicity) if isinstance(toxicity, int | float) else 1.0,
            _attributes(kind, body.get("attributes")),
        )
        proxy.toxics.append(toxic)
        return 200, toxic.wire()

    def _toxic(
        self, method: str, proxy: _FakeProxy, toxic: _FakeToxic, body: dict[str, object]
    ) -> tuple[int, object]:
        if method == "DELETE":
            proxy.toxics.remove(toxic)
            return 204, None
        if method in ("POST", "PATCH"):
            # Like the real server: only attributes (merged) and toxicity change.
            toxic.attributes = _attributes(toxic.type, body.get("attributes"), toxic.attributes)
            toxicity = body.get("toxicity", toxic.toxicity)
            toxic.toxicity = float(toxicity) if isinstance(toxicity, int | float) else 1.0
        return 200, toxic.wire()
