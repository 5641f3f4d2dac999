"""A load that runs once in a background thread, from ``start`` to ``stop``.

The engine's ``start`` and ``stop`` must not block on a load that runs for the whole
experiment, so each traffic adapter waits on its load in a daemon thread. This is that
thread's bookkeeping, written once: a second ``start`` while it runs does nothing, and a
``HarnessError`` the load raised is raised again by ``stop``, in the engine's thread.
"""

from __future__ import annotations

import threading

from sloverify._exceptions import HarnessError


class BackgroundLoad:
    """Run ``_work`` in a daemon thread until ``stop``; subclasses write ``_work``."""

    def __init__(self, name: str, join_timeout: float) -> None:
        self.error: HarnessError | None = None
        self._name = name
        self._join_timeout = join_timeout  # how long stop waits for the load to wind down
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the load; a second start while it runs does nothing."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self.error = None
        self._thread = threading.Thread(target=self._guarded, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the load to stop, wait for it, and raise what broke it, if anything did."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._join_timeout)
        if self.error is not None:
            raise self.error

    def _guarded(self) -> None:
        try:
            self._work(self._stop)
        except HarnessError as exc:  # raised again by stop(), where the engine can handle it
            self.error = exc

    def _work(self, stop: threading.Event) -> None:
        raise NotImplementedError
