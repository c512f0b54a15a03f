"""The lab clock: the only source of "now" for every model, moved forward explicitly.

Nothing in the lab sleeps or reads the wall clock for licensing state: grace
periods, the 180-day KMS validity, the 30-day KMS count window and the
2-hour/7-day retry/renewal timers all run on this clock, so a test can move
31 days forward in microseconds and get the same answer every run.
"""

from __future__ import annotations

import datetime as dt
import threading


class LabClock:
    """A settable, monotonic clock.

    ``now()`` returns an aware UTC datetime. ``advance(delta)`` moves it forward
    (never backward: ``ValueError`` for a negative delta). Thread-safe.
    """

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.timezone.utc)
        self._start = start.astimezone(dt.timezone.utc)
        self._now = self._start
        self._lock = threading.Lock()

    @property
    def start(self) -> dt.datetime:
        """The time the clock was created with (UTC)."""
        return self._start

    def now(self) -> dt.datetime:
        """Current lab time, an aware UTC datetime."""
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        if delta < dt.timedelta(0):
            raise ValueError(f"the lab clock only moves forward (got {delta})")
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, when: dt.datetime) -> dt.datetime:
        """Move the clock forward to ``when`` (aware); ``ValueError`` if it lies in the past."""
        if when.tzinfo is None:
            raise ValueError("the lab clock needs an aware datetime")
        return self.advance(when.astimezone(dt.timezone.utc) - self.now())
