"""The Toxiproxy client against the real server (and the fake against the same scenario)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from sloverify._exceptions import ToxiproxyError
from sloverify.adapters.runtime.ports import free_port
from sloverify.adapters.toxiproxy import (
    BandwidthAttributes,
    LatencyAttributes,
    SlicerAttributes,
    Stream,
    Toxic,
    ToxicType,
    ToxiproxyClient,
)
from sloverify.adapters.toxiproxy_fake import FakeToxiproxy
from tests.toxiproxy_support import RunningToxiproxy, TcpServer, round_trip, run_toxiproxy


@pytest.fixture
def toxiproxy(tmp_path: Path) -> Iterator[RunningToxiproxy]:
    with run_toxiproxy(tmp_path) as server:
        yield server


@pytest.fixture
def echo() -> Iterator[TcpServer]:
    with TcpServer() as server:
        yield server


def test_latency_toxic_slows_round_trips_until_removed(
    toxiproxy: RunningToxiproxy, echo: TcpServer
) -> None:
    with toxiproxy.client() as client:
        proxy = client.create_proxy("echo", "127.0.0.1:0", echo.address)
        assert proxy.enabled and not proxy.listen.endswith(":0")  # the real port, bound
        assert round_trip(proxy.listen) < 0.2

        added = client.add_toxic(
            "echo", Toxic(name="slow", attributes=LatencyAttributes(latency=300))
        )
        assert added.type is ToxicType.LATENCY and added.stream is Stream.DOWNSTREAM
        assert round_trip(proxy.listen) >= 0.3

        updated = client.update_toxic("echo", "slow", LatencyAttributes(latency=600), toxicity=1.0)
        assert updated.attributes == LatencyAttributes(latency=600)
        assert client.toxics("echo") == (updated,)
        assert round_trip(proxy.listen) >= 0.6

        client.remove_toxic("echo", "slow")
        assert client.toxics("echo") == ()
        assert round_trip(proxy.listen) < 0.2


def test_disabled_proxy_refuses_connections(toxiproxy: RunningToxiproxy, echo: TcpServer) -> None:
    with toxiproxy.client() as client:
        listen = client.create_proxy("echo", "127.0.0.1:0", echo.address).listen
        assert not client.set_enabled("echo", False).enabled
        with pytest.raises(ConnectionRefusedError):
            round_trip(listen)
        assert client.set_enabled("echo", True).listen == listen  # same port again
        assert round_trip(listen) < 0.2


def test_reset_enables_proxies_and_removes_toxics(
    toxiproxy: RunningToxiproxy, echo: TcpServer
) -> None:
    with toxiproxy.client() as client:
        client.create_proxy("a", "127.0.0.1:0", echo.address)
        client.create_proxy("b", "127.0.0.1:0", echo.address)
        client.add_toxic("a", Toxic(name="bw", attributes=BandwidthAttributes(rate=1)))
        client.set_enabled("b", False)
        client.reset()
        proxies = client.proxies()
        assert sorted(proxies) == ["a", "b"]
        assert all(p.enabled and not p.toxics for p in proxies.values())


def test_api_errors_carry_the_status(toxiproxy: RunningToxiproxy, echo: TcpServer) -> None:
    with toxiproxy.client() as client:
        client.create_proxy("echo", "127.0.0.1:0", echo.address)
        with pytest.raises(ToxiproxyError) as duplicate:
            client.create_proxy("echo", "127.0.0.1:0", echo.address)
        assert duplicate.value.status == 409 and "already exists" in duplicate.value.body
        with pytest.raises(ToxiproxyError) as missing_toxic:
            client.remove_toxic("echo", "nope")
        assert missing_toxic.value.status == 404 and "toxic not found" in missing_toxic.value.body
        with pytest.raises(ToxiproxyError) as missing_proxy:
            client.get_proxy("nope")
        assert missing_proxy.value.status == 404
        with pytest.raises(ToxiproxyError) as missing_update:
            client.update_toxic("echo", "nope", LatencyAttributes(latency=1))
        assert missing_update.value.status == 404


def test_update_refuses_attributes_of_another_type(
    toxiproxy: RunningToxiproxy, echo: TcpServer
) -> None:
    with toxiproxy.client() as client:
        client.create_proxy("echo", "127.0.0.1:0", echo.address)
        client.add_toxic("echo", Toxic(name="bw", attributes=BandwidthAttributes(rate=10)))
        with pytest.raises(ValueError, match="bandwidth toxic"):
            client.update_toxic("echo", "bw", LatencyAttributes(latency=5))
        assert client.get_toxic("echo", "bw").attributes == BandwidthAttributes(rate=10)


def test_models_reject_what_toxiproxy_would_silently_accept() -> None:
    with pytest.raises(ValidationError):
        LatencyAttributes(latency=100, jiter=5)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        LatencyAttributes(latency=-5)
    with pytest.raises(ValidationError):
        Toxic(name="x", attributes=LatencyAttributes(latency=1), toxicity=2.0)
    with pytest.raises(ValidationError):
        Toxic(name="a/b", attributes=LatencyAttributes(latency=1))


def test_toxics_from_data_are_typed_by_their_type() -> None:
    toxic = Toxic.model_validate({"name": "r", "type": "reset_peer", "attributes": {"timeout": 5}})
    assert toxic.type is ToxicType.RESET_PEER  # not timeout, whose attributes look the same
    assert Toxic.model_validate(toxic.wire()) == toxic
    with pytest.raises(ValidationError, match="needs its 'type'"):
        Toxic.model_validate({"name": "r", "attributes": {"timeout": 5}})
    with pytest.raises(ValidationError):
        Toxic.model_validate({"name": "r", "type": "noop", "attributes": {}})


def test_a_silent_server_times_out_as_status_0() -> None:
    with TcpServer(silent=True) as silent:
        client = ToxiproxyClient(f"http://{silent.address}", timeout=0.5)
        start = time.monotonic()
        with pytest.raises(ToxiproxyError) as error:
            client.version()
        elapsed = time.monotonic() - start
    assert error.value.status == 0 and "Timeout" in error.value.body
    assert 0.4 <= elapsed < 1.5


def test_a_closed_port_is_status_0() -> None:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        client = ToxiproxyClient(f"http://127.0.0.1:{s.getsockname()[1]}", timeout=0.5)
        with pytest.raises(ToxiproxyError) as error:
            client.proxies()
    assert error.value.status == 0


def _scenario(client: ToxiproxyClient, listen: str, upstream: str) -> list[object]:
    """Calls whose answers the fake must reproduce; errors are recorded as their status."""
    seen: list[object] = []

    def step(call: object) -> None:
        seen.append(call)

    def fails(action: object) -> None:
        try:
            assert callable(action)
            action()
            seen.append("no error")
        except ToxiproxyError as exc:
            seen.append((exc.status, exc.body.strip()))

    latency = Toxic(name="lat", attributes=LatencyAttributes(latency=100, jitter=10))
    slicer = Toxic(
        name="cut",
        attributes=SlicerAttributes(average_size=64, size_variation=8, delay=10),
        stream=Stream.UPSTREAM,
        toxicity=0.5,
    )
    step(isinstance(client.version(), str))
    step(client.create_proxy("p", listen, upstream))
    fails(lambda: client.create_proxy("p", listen, upstream))
    step(client.add_toxic("p", latency))
    step(client.add_toxic("p", slicer))
    fails(lambda: client.add_toxic("p", latency))
    step(client.toxics("p"))  # upstream first, whatever the order of addition
    step(client.update_toxic("p", "lat", LatencyAttributes(latency=200)))
    step(client.update_toxic("p", "cut", SlicerAttributes(average_size=32), toxicity=0.25))
    step(client.set_enabled("p", False))
    step(client.get_proxy("p"))
    fails(lambda: client.remove_toxic("p", "nope"))
    fails(lambda: client.toxics("nope"))
    fails(lambda: client.add_toxic("nope", latency))
    client.remove_toxic("p", "lat")
    step(client.get_toxic("p", "cut"))
    client.reset()
    step(client.proxies())
    client.delete_proxy("p")
    fails(lambda: client.delete_proxy("p"))
    step(client.proxies())
    return seen


def test_the_fake_answers_like_the_real_server(
    toxiproxy: RunningToxiproxy, echo: TcpServer
) -> None:
    listen = f"127.0.0.1:{free_port()}"  # a fixed port, so both report the same address
    with toxiproxy.client() as real:
        expected = _scenario(real, listen, echo.address)
    fake = FakeToxiproxy()
    with fake.client() as client:
        assert _scenario(client, listen, echo.address) == expected
