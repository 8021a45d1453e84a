"""A circuit breaker: after `threshold` failures in a row a source is not asked for `cooldown`
seconds (open); then one trial request is let through (half-open) — success closes the circuit,
failure opens it again. A dead billing system then costs the agents nothing but a message, instead of
a timeout on every 360 page. State is per process (each app process learns on its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, *, threshold: int, cooldown: float, now: Callable[[], float] = time.monotonic) -> None:
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self._now = now
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return State.CLOSED
        if self._now() - self._opened_at >= self.cooldown:
            return State.HALF_OPEN
        return State.OPEN

    def allow(self) -> bool:
        """Whether a request may go out now (in half-open, only one at a time: the trial)."""
        with self._lock:
            state = self._state()
            if state is State.CLOSED:
                return True
            if state is State.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self.threshold:
                self._opened_at = self._now()
            self._trial_running = False
