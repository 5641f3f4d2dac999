"""A stand-in controller for tests/test_watchdog.py, run as a script in its own process.

It starts the watchdog, prints ``watchdog <pid>``, applies a latency toxic through the ledger
and prints ``applied``. Mode ``sleep`` then sleeps until the test kills or freezes it; mode
``clean`` removes the toxic itself, stops the watchdog and prints ``stopped <exit code>``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sloverify.adapters.faults import FaultInjector, FaultLedger
from sloverify.adapters.toxiproxy import LatencyAttributes, Toxic
from sloverify.adapters.watchdog import start_watchdog

TOXIC = Toxic(name="watched", attributes=LatencyAttributes(latency=1000))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--toxiproxy", required=True)
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--mode", choices=["sleep", "clean"], required=True)
    args = parser.parse_args()

    handle = start_watchdog(args.ledger, timeout=3.0)
    print(f"watchdog {handle.pid}", flush=True)
    injector = FaultInjector(FaultLedger(args.ledger))
    if args.mode == "sleep":
        injector.apply_toxic(args.toxiproxy, args.proxy, TOXIC)
        print("applied", flush=True)
        time.sleep(600)
        return 0
    with injector:
        fault = injector.apply_toxic(args.toxiproxy, args.proxy, TOXIC)
        print("applied", flush=True)
        injector.remove(fault)
    print(f"stopped {handle.stop()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
