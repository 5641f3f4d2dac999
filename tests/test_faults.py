"""The fault ledger's durability and the injector's rollback, on the real Toxiproxy and the fake."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sloverify._exceptions import RollbackFailed, ToxiproxyError
from sloverify.adapters.faults import Fault, FaultInjector, FaultKind, FaultLedger
from sloverify.adapters.toxiproxy import BandwidthAttributes, LatencyAttributes, Toxic
from sloverify.adapters.toxiproxy_fake import FakeToxiproxy
from tests.toxiproxy_support import RunningToxiproxy, TcpServer, run_toxiproxy

LATENCY = Toxic(name="slow", attributes=LatencyAttributes(latency=500))


@pytest.fixture
def toxiproxy(tmp_path: Path) -> Iterator[RunningToxiproxy]:
    with run_toxiproxy(tmp_path) as server:
        yield server


@pytest.fixture
def ledger(tmp_path: Path) -> FaultLedger:
    return FaultLedger(tmp_path / "run" / "faults.jsonl")


@pytest.fixture
def fake() -> FakeToxiproxy:
    fake = FakeToxiproxy()
    with fake.client() as client:
        client.create_proxy("db", "127.0.0.1:0", "127.0.0.1:5432")
        client.create_proxy("cache", "127.0.0.1:0", "127.0.0.1:6379")
    return fake


def _fault(n: int, kind: FaultKind = FaultKind.TOXIC) -> Fault:
    return Fault(
        id=f"f{n}",
        kind=kind,
        base_url="http://127.0.0.1:8474",
        proxy="db",
        toxic=f"t{n}" if kind is FaultKind.TOXIC else None,
        applied_at=datetime.now(UTC),
    )


def test_ledger_survives_reopening_and_resolves(ledger: FaultLedger) -> None:
    faults = (_fault(1), _fault(2, FaultKind.PROXY_DISABLED))
    for fault in faults:
        ledger.record(fault)
    reopened = FaultLedger(ledger.path)
    assert reopened.active() == faults  # every field survives the round trip
    reopened.resolve("f1")
    assert [f.id for f in FaultLedger(ledger.path).active()] == ["f2"]
    assert len(ledger.path.read_text().splitlines()) == 3  # append-only: nothing rewritten


def test_ledger_tolerates_a_torn_last_line(ledger: FaultLedger) -> None:
    ledger.record(_fault(1))
    with ledger.path.open("ab") as f:  # a crash in the middle of the next write
        f.write(b'{"op":"apply","fault":{"id":"f2","ki')
    assert [f.id for f in ledger.active()] == ["f1"]
    ledger.record(_fault(3))  # the next record starts on a line of its own
    assert [f.id for f in ledger.active()] == ["f1", "f3"]


def test_empty_or_missing_ledger_has_no_active_faults(ledger: FaultLedger) -> None:
    assert ledger.active() == ()


def test_fault_needs_a_toxic_name_exactly_for_toxics() -> None:
    with pytest.raises(ValueError, match="toxic name"):
        Fault(
            id="x",
            kind=FaultKind.TOXIC,
            base_url="u",
            proxy="p",
            applied_at=datetime.now(UTC),
        )


def test_rollback_all_on_the_real_server(
    toxiproxy: RunningToxiproxy, ledger: FaultLedger, tmp_path: Path
) -> None:
    with TcpServer() as echo, toxiproxy.client() as client:
        client.create_proxy("db", "127.0.0.1:0", echo.address)
        client.create_proxy("cache", "127.0.0.1:0", echo.address)
        injector = FaultInjector(ledger)
        injector.apply_toxic(toxiproxy.url, "db", LATENCY)
        injector.apply_toxic(
            toxiproxy.url, "cache", Toxic(name="bw", attributes=BandwidthAttributes(rate=1))
        )
        injector.disable_proxy(toxiproxy.url, "cache")
        injector.apply_toxic(toxiproxy.url, "db", Toxic(name="gone", attributes=LATENCY.attributes))
        client.remove_toxic("db", "gone")  # already removed by someone: 404 counts as removed
        assert len(ledger.active()) == 4

        result = injector.rollback_all()

        assert len(result.removed) == 4
        assert ledger.active() == ()
        proxies = client.proxies()
        assert all(p.enabled and not p.toxics for p in proxies.values())


def test_a_rejected_fault_is_resolved_at_once(fake: FakeToxiproxy, ledger: FaultLedger) -> None:
    injector = FaultInjector(ledger, lambda url: fake.client())
    with pytest.raises(ToxiproxyError) as error:
        injector.apply_toxic(fake.base_url, "nope", LATENCY)
    assert error.value.status == 404
    assert ledger.active() == ()  # the server answered "no": nothing to roll back


def test_an_unanswered_fault_stays_active(fake: FakeToxiproxy, ledger: FaultLedger) -> None:
    fake.unreachable = True
    injector = FaultInjector(ledger, lambda url: fake.client())
    with pytest.raises(ToxiproxyError):
        injector.apply_toxic(fake.base_url, "db", LATENCY)
    assert len(ledger.active()) == 1  # no answer: it may have been applied
    fake.unreachable = False
    injector.rollback_all()  # the toxic never arrived: 404 counts as removed
    assert ledger.active() == ()


def test_rollback_tries_every_fault_before_raising(
    fake: FakeToxiproxy, ledger: FaultLedger
) -> None:
    dead = FakeToxiproxy("http://dead.fake:8474")
    servers = {fake.base_url: fake, dead.base_url: dead}
    injector = FaultInjector(ledger, lambda url: servers[url].client())
    injector.apply_toxic(fake.base_url, "db", LATENCY)
    with dead.client() as client:
        client.create_proxy("db", "127.0.0.1:0", "127.0.0.1:1")
    stuck = injector.apply_toxic(dead.base_url, "db", LATENCY)
    injector.disable_proxy(fake.base_url, "cache")
    dead.unreachable = True

    with pytest.raises(RollbackFailed) as failure:
        injector.rollback_all()

    [(what, why)] = failure.value.failed
    assert stuck.id in what and "ConnectError" in why
    assert ledger.active() == (stuck,)
    assert not fake.proxies["db"].toxics and fake.proxies["cache"].enabled


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_context_manager_rolls_back_on_exceptions(
    toxiproxy: RunningToxiproxy, ledger: FaultLedger, error: BaseException
) -> None:
    with TcpServer() as echo, toxiproxy.client() as client:
        client.create_proxy("db", "127.0.0.1:0", echo.address)
        with pytest.raises(type(error)), FaultInjector(ledger) as injector:
            injector.apply_toxic(toxiproxy.url, "db", LATENCY)
            injector.disable_proxy(toxiproxy.url, "db")
            assert client.get_proxy("db").toxics
            raise error
        proxy = client.get_proxy("db")
        assert proxy.enabled and proxy.toxics == ()
        assert ledger.active() == ()


def test_sigterm_inside_the_context_manager_rolls_back(
    fake: FakeToxiproxy, ledger: FaultLedger
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exit_, FaultInjector(ledger, lambda u: fake.client()) as inj:
        inj.apply_toxic(fake.base_url, "db", LATENCY)
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises SystemExit right here
        pytest.fail("SIGTERM did not interrupt")
    assert exit_.value.code == 128 + signal.SIGTERM
    assert fake.proxies["db"].toxics == [] and ledger.active() == ()
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back


def test_failed_rollback_is_noted_on_the_original_error(
    fake: FakeToxiproxy, ledger: FaultLedger
) -> None:
    with (
        pytest.raises(RuntimeError) as error,
        FaultInjector(ledger, lambda u: fake.client()) as inj,
    ):
        inj.apply_toxic(fake.base_url, "db", LATENCY)
        fake.unreachable = True
        raise RuntimeError("boom")
    assert "could not be rolled back" in "".join(error.value.__notes__)
    assert len(ledger.active()) == 1  # left for the watchdog or the next run
