"""A small typed client for the Toxiproxy 2.12 HTTP API.

Every call has a timeout (Toxiproxy deletes have been known to hang); a transport error or a
timeout becomes ``ToxiproxyError(status=0)`` and any non-2xx answer a ``ToxiproxyError`` with
its status and body. Toxic attributes are one typed model per toxic type, because Toxiproxy
silently ignores attribute names it does not know: a misspelt name cannot be sent from here.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from types import TracebackType
from typing import ClassVar, TypeVar, get_args

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from sloverify._exceptions import ToxiproxyError

_NAME = r"^[A-Za-z0-9_.:-]+$"  # a name is one URL path segment; "/" would route elsewhere


class ToxicType(StrEnum):
    """The toxic types sloverify uses (Toxiproxy's ``noop`` is left out on purpose)."""

    LATENCY = "latency"
    BANDWIDTH = "bandwidth"
    SLOW_CLOSE = "slow_close"
    TIMEOUT = "timeout"
    RESET_PEER = "reset_peer"
    SLICER = "slicer"
    LIMIT_DATA = "limit_data"


class Stream(StrEnum):
    """Which direction a toxic acts on: client to upstream, or upstream back to the client."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


class _Frozen(BaseModel):
    # extra="forbid" is the point of these models: Toxiproxy drops unknown names silently.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class LatencyAttributes(_Frozen):
    """Delay every chunk by ``latency`` ms, plus or minus ``jitter`` ms."""

    TYPE: ClassVar[ToxicType] = ToxicType.LATENCY
    latency: NonNegativeInt
    jitter: NonNegativeInt = 0


class BandwidthAttributes(_Frozen):
    """Limit the stream to ``rate`` KB/s."""

    TYPE: ClassVar[ToxicType] = ToxicType.BANDWIDTH
    rate: NonNegativeInt


class SlowCloseAttributes(_Frozen):
    """Delay the TCP close by ``delay`` ms."""

    TYPE: ClassVar[ToxicType] = ToxicType.SLOW_CLOSE
    delay: NonNegativeInt


class TimeoutAttributes(_Frozen):
    """Stop all data and close the connection after ``timeout`` ms (0: never close)."""

    TYPE: ClassVar[ToxicType] = ToxicType.TIMEOUT
    timeout: NonNegativeInt


class ResetPeerAttributes(_Frozen):
    """Reset the connection (TCP RST) after ``timeout`` ms (0: at once)."""

    TYPE: ClassVar[ToxicType] = ToxicType.RESET_PEER
    timeout: NonNegativeInt


class SlicerAttributes(_Frozen):
    """Slice data into ``average_size`` ± ``size_variation`` byte chunks, ``delay`` µs apart."""

    TYPE: ClassVar[ToxicType] = ToxicType.SLICER
    average_size: NonNegativeInt
    size_variation: NonNegativeInt = 0
    delay: NonNegativeInt = 0  # microseconds, unlike every other toxic's milliseconds


class LimitDataAttributes(_Frozen):
    """Close the connection once ``bytes`` bytes have passed."""

    TYPE: ClassVar[ToxicType] = ToxicType.LIMIT_DATA
    bytes: NonNegativeInt


Attributes = (
    LatencyAttributes
    | BandwidthAttributes
    | SlowCloseAttributes
    | TimeoutAttributes
    | ResetPeerAttributes
    | SlicerAttributes
    | LimitDataAttributes
)
ATTRIBUTES: dict[ToxicType, type[Attributes]] = {cls.TYPE: cls for cls in get_args(Attributes)}


class Toxic(_Frozen):
    """One toxic on a proxy; its type follows from its attributes' model."""

    name: str = Field(pattern=_NAME)
    attributes: Attributes
    stream: Stream = Stream.DOWNSTREAM
    # Decided once per TCP connection, not per request (Toxiproxy accepts values above 1).
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _attributes_by_type(cls, data: object) -> object:
        # Timeout and reset_peer attributes look alike ({"timeout": n}): data (YAML, JSON)
        # must name its type, which picks the model, instead of the union guessing.
        if isinstance(data, dict) and "type" in data:
            data = dict(data)
            model = ATTRIBUTES[ToxicType(data.pop("type"))]
            data["attributes"] = model.model_validate(data.get("attributes"))
        elif isinstance(data, dict) and isinstance(data.get("attributes"), dict):
            raise ValueError("a toxic given as data needs its 'type'")
        return data

    @property
    def type(self) -> ToxicType:
        """The toxic's type, as Toxiproxy names it."""
        return self.attributes.TYPE

    def wire(self) -> dict[str, object]:
        """The JSON body Toxiproxy expects for this toxic."""
        return {**self.model_dump(mode="json"), "type": self.type.value}

    def same_as(self, other: Toxic) -> bool:
        """Equal up to the float32 rounding of toxicity (Toxiproxy stores it as float32)."""
        close = math.isclose(self.toxicity, other.toxicity, abs_tol=1e-6)
        return close and self == other.model_copy(update={"toxicity": self.toxicity})


class Proxy(_Frozen):
    """One proxy as Toxiproxy reports it; ``listen`` holds the real port once it listens."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()


# The wire shapes, loose on purpose: answers carry extra fields (a proxy has "Logger": {}).
class _WireToxic(BaseModel):
    name: str
    type: str
    stream: Stream
    toxicity: float
    attributes: dict[str, int]


class _WireProxy(BaseModel):
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: list[_WireToxic]


class _WireVersion(BaseModel):
    version: str


_T = TypeVar("_T")
_VERSION = TypeAdapter(_WireVersion)
_PROXY = TypeAdapter(_WireProxy)
_PROXIES = TypeAdapter(dict[str, _WireProxy])
_TOXIC = TypeAdapter(_WireToxic)
_TOXICS = TypeAdapter(list[_WireToxic])


def _segment(name: str) -> str:
    if not re.match(_NAME, name):
        raise ValueError(f"{name!r} is not a valid Toxiproxy name (letters, digits, _ . : -)")
    return name


class ToxiproxyClient:
    """One Toxiproxy server's API; ``transport`` is the test seam (see ``toxiproxy_fake``)."""

    def __init__(
        self, base_url: str, timeout: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # trust_env=False: an HTTP_PROXY in the environment must not reroute fault injection.
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            trust_env=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def version(self) -> str:
        """The server's version ("git" for a binary built with a plain ``go install``)."""
        return _decode(self._call("GET", "/version"), _VERSION).version

    def proxies(self) -> dict[str, Proxy]:
        """Every proxy, by name."""
        response = self._call("GET", "/proxies")
        return {name: _proxy(p, response) for name, p in _decode(response, _PROXIES).items()}

    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        """Create a proxy (409 if the name exists); listen "127.0.0.1:0" picks a free port."""
        body = {"name": _segment(name), "listen": listen, "upstream": upstream, "enabled": enabled}
        response = self._call("POST", "/proxies", body)
        return _proxy(_decode(response, _PROXY), response)

    def get_proxy(self, name: str) -> Proxy:
        """One proxy with its toxics (404 if missing)."""
        response = self._call("GET", f"/proxies/{_segment(name)}")
        return _proxy(_decode(response, _PROXY), response)

    def set_enabled(self, name: str, enabled: bool) -> Proxy:
        """Enable or disable a proxy; disabled, it closes its connections and refuses new ones."""
        response = self._call("PATCH", f"/proxies/{_segment(name)}", {"enabled": enabled})
        return _proxy(_decode(response, _PROXY), response)

    def delete_proxy(self, name: str) -> None:
        """Delete a proxy and its toxics (404 if missing)."""
        self._call("DELETE", f"/proxies/{_segment(name)}")

    def add_toxic(self, proxy: str, toxic: Toxic) -> Toxic:
        """Add a toxic (409 if the name exists on the proxy); checks the server kept it whole."""
        return _checked(
            self._call("POST", f"/proxies/{_segment(proxy)}/toxics", toxic.wire()), toxic
        )

    def get_toxic(self, proxy: str, name: str) -> Toxic:
        """One toxic (404 if the proxy or the toxic is missing)."""
        response = self._call("GET", f"/proxies/{_segment(proxy)}/toxics/{_segment(name)}")
        return _toxic(_decode(response, _TOXIC), response)

    def update_toxic(
        self, proxy: str, name: str, attributes: Attributes, toxicity: float | None = None
    ) -> Toxic:
        """Replace a toxic's attributes (and toxicity); its type must match the attributes'."""
        current = self.get_toxic(proxy, name)
        # Timeout and reset_peer share "timeout", slicer and slow_close "delay": a wrong type
        # would be half applied, so refuse it before sending anything.
        if current.type is not attributes.TYPE:
            raise ValueError(
                f"toxic {name!r} on {proxy!r} is a {current.type} toxic, not {attributes.TYPE}"
            )
        change = {
            "attributes": attributes,
            "toxicity": current.toxicity if toxicity is None else toxicity,
        }
        wanted = Toxic.model_validate({**current.model_dump(), **change})
        body = {"attributes": attributes.model_dump(), "toxicity": wanted.toxicity}
        # PATCH: Toxiproxy 2.12 still takes POST here but logs it as deprecated.
        path = f"/proxies/{_segment(proxy)}/toxics/{_segment(name)}"
        return _checked(self._call("PATCH", path, body), wanted)

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic (404 if the proxy or the toxic is missing)."""
        self._call("DELETE", f"/proxies/{_segment(proxy)}/toxics/{_segment(name)}")

    def toxics(self, proxy: str) -> tuple[Toxic, ...]:
        """A proxy's toxics: upstream ones first, then downstream, each in order of addition."""
        response = self._call("GET", f"/proxies/{_segment(proxy)}/toxics")
        return tuple(_toxic(t, response) for t in _decode(response, _TOXICS))

    def reset(self) -> None:
        """Enable every proxy and remove every toxic on the server (not only sloverify's)."""
        self._call("POST", "/reset")

    def _call(self, method: str, path: str, body: object = None) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:  # timeouts, refused connections, broken answers
            raise ToxiproxyError(method, url, 0, f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise ToxiproxyError(method, url, response.status_code, response.text)
        return response


def _decode(response: httpx.Response, shape: TypeAdapter[_T]) -> _T:
    try:
        return shape.validate_json(response.content)
    except ValidationError as exc:
        raise _unexpected(response, str(exc)) from exc


def _proxy(wire: _WireProxy, response: httpx.Response) -> Proxy:
    toxics = tuple(_toxic(t, response) for t in wire.toxics)
    return Proxy(**wire.model_dump(exclude={"toxics"}), toxics=toxics)


def _toxic(wire: _WireToxic, response: httpx.Response) -> Toxic:
    try:
        # Toxiproxy takes any toxicity; above 1 acts as 1 (it draws rand < toxicity).
        toxicity = min(max(wire.toxicity, 0.0), 1.0)
        return Toxic.model_validate({**wire.model_dump(), "toxicity": toxicity})
    except (ValueError, ValidationError) as exc:  # e.g. a "noop" toxic someone else added
        raise _unexpected(response, f"toxic {wire.name!r}: {exc}") from exc


def _checked(response: httpx.Response, sent: Toxic) -> Toxic:
    got = _toxic(_decode(response, _TOXIC), response)
    if not got.same_as(sent):
        raise _unexpected(response, f"asked for {sent!r}, got {got!r}")
    return got


def _unexpected(response: httpx.Response, why: str) -> ToxiproxyError:
    request = response.request
    body = f"unexpected answer ({why}): {response.text}"
    return ToxiproxyError(request.method, str(request.url), response.status_code, body)
