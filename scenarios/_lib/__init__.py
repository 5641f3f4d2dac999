"""The locust-side library of sloverify's scenarios: it runs only inside locust's own process.

sloverify starts locust as a subprocess (importing locust would monkey-patch sloverify with
gevent) and talks to this library through environment variables, all set by
``sloverify.adapters.locust``:

- ``SLOVERIFY_SHAPE`` (load, spike, stress, endurance), ``SLOVERIFY_USERS`` (peak users),
  ``SLOVERIFY_RATE`` (peak requests/s over all users; unset: one per user per second),
  ``SLOVERIFY_TIME_SCALE`` (k) and ``SLOVERIFY_BASE_SECONDS`` (the shape's length in real
  time; it runs for that divided by k);
- ``SLOVERIFY_STRESS_STEPS``, ``SLOVERIFY_STRESS_MAX_FAILURE_RATIO``,
  ``SLOVERIFY_STRESS_MAX_P95_MS``: the stress shape's steps and the limits that end it;
- ``SLOVERIFY_RAMP_SECONDS``: the load and endurance shapes' ramp to the peak (default: the
  first tenth of the run);
- ``SLOVERIFY_RESULT_FILE``: where the stress shape writes what it found (JSON);
- ``SLOVERIFY_TARGETS``: a JSON object of service names to base URLs.

A locustfile defines its users with ``target("service")`` as host and ``paced()`` as
wait_time, and picks its shape with ``Shape = selected_shape()``.
"""

from __future__ import annotations

from _lib.config import config, target
from _lib.shapes import selected_shape
from _lib.users import paced

__all__ = ["config", "paced", "selected_shape", "target"]
