"""Pacing for users: each user's share of the run's peak request rate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locust import constant_throughput

from _lib.config import config


def paced() -> Callable[[Any], float]:
    """A wait_time holding each user to its share of the peak rate (at peak users)."""
    return constant_throughput(config().per_user_rate)
