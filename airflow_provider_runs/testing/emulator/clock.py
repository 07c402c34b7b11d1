"""Emulator time: real monotonic time, scaled, plus manual advances."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone


class Clock:
    """The emulator's clock.

    :param scale: emulator seconds per real second.
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._start_real = time.monotonic()
        self._start_wall = datetime.now(timezone.utc)
        self._offset = 0.0

    def now(self) -> float:
        """Emulator seconds since start."""
        return (time.monotonic() - self._start_real) * self.scale + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward."""
        self._offset += max(0.0, seconds)

    def iso(self, at: float | None = None) -> str:
        """An emulator time as an RFC 3339 UTC string."""
        moment = self._start_wall + timedelta(seconds=self.now() if at is None else at)
        return moment.isoformat().replace("+00:00", "Z")

    def wall(self, at: float) -> datetime:
        """The wall-clock moment of emulator time ``at``."""
        return self._start_wall + timedelta(seconds=at)

    def at(self, moment: datetime) -> float:
        """The emulator time of a wall-clock moment (with a time zone)."""
        return (moment - self._start_wall).total_seconds()

    def real_seconds(self, emulator_seconds: float) -> float:
        """How long ``emulator_seconds`` last in real time."""
        return emulator_seconds / self.scale if self.scale > 0 else emulator_seconds
