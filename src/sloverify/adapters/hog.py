"""A resource hog for CPU and memory faults: ``python -m sloverify.adapters.hog``.

Every hog carries its fault's id on its command line, so a rollback (the controller's or
the watchdog's) finds and ends it by that id alone, and every hog ends by itself after
``--seconds``: a hog can never outlive its fault by more than that bound.
"""

from __future__ import annotations

import argparse
import os
import time


def main(argv: list[str] | None = None) -> int:
    """Burn one CPU, or hold memory, until ``--seconds`` pass or a signal ends it."""
    parser = argparse.ArgumentParser(prog="python -m sloverify.adapters.hog")
    parser.add_argument("--fault-id", required=True, help="the ledger id this hog belongs to")
    parser.add_argument("--seconds", type=float, required=True, help="end by itself after this")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--cpu", action="store_true", help="spin on the CPUs it is pinned to")
    what.add_argument("--memory-mb", type=int, help="allocate and touch this many MiB, then hold")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.seconds
    if args.cpu:
        n = 0
        while time.monotonic() < deadline:
            for _ in range(10_000):
                n += 1
        return 0
    held: list[bytearray] = []
    for _ in range(args.memory_mb):
        if time.monotonic() >= deadline:
            break
        chunk = bytearray(1 << 20)
        chunk[:: os.sysconf("SC_PAGE_SIZE")] = b"\1" * len(chunk[:: os.sysconf("SC_PAGE_SIZE")])
        held.append(chunk)  # touched pages count against the cgroup; untouched ones do not
        time.sleep(0.002)  # a ramp, not a spike: the target's OOM kill is then a clear event
    time.sleep(max(0.0, deadline - time.monotonic()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
