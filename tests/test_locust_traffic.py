"""Locust as an experiment's traffic: runs in the background, stops when told, counts right."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import pytest

from sloverify._exceptions import HarnessError
from sloverify.adapters.loadstats import parse_stats_csv
from sloverify.adapters.locust_traffic import LocustTraffic, scenario_file
from sloverify.adapters.tools import Tools
from tests.traffic_support import DATA, tiny_service


def test_locust_runs_until_stopped_and_its_counts_match_the_service(tmp_path: Path) -> None:
    with tiny_service(tmp_path) as svc:
        before = svc.handled()
        traffic = LocustTraffic(
            DATA / "locustfile.py",
            {"tiny": svc.url},
            users=6,
            scale=Fraction(60),
            max_seconds=120.0,  # far longer than the test waits: stop() must end it
            out_dir=tmp_path / "locust",
            tools=Tools.load(),
        )
        started = time.monotonic()
        traffic.start()
        # start returns once locust sends: the warm-up's baseline that follows must measure
        # the full load, not locust's 1-3 s start-up.
        assert svc.handled() > before
        traffic.start()  # idempotent, as the engine starts it again after the warm-up
        time.sleep(6)
        traffic.stop()
        assert time.monotonic() - started < 60
        assert traffic.result is not None
        sent = traffic.result.total.requests
        # All six users from the start, 1 req/s each: about 40 in the 6 s (measured 42); a
        # ramp over a tenth of the 120 s bound (1 user/s) sends about two thirds (measured 27).
        assert sent > 33, sent
        assert svc.handled() - before == sent


def test_an_unknown_scenario_is_no_locustfile() -> None:
    assert scenario_file("no-such-scenario") is None


def test_a_stats_file_read_while_locust_rewrites_it_is_a_harness_error(tmp_path: Path) -> None:
    # Locust rewrites its CSV every second; a read in the middle sees a row cut short, which
    # must not kill the thread that waits on locust (that stopped a live run's load).
    head = "Type,Name,Request Count,Failure Count,50%,95%,99%,Max Response Time,Requests/s\n"
    path = tmp_path / "locust_stats.csv"
    path.write_text(head + ",Aggregated,120,0,110")
    with pytest.raises(HarnessError, match="unexpected columns"):
        parse_stats_csv(path)
