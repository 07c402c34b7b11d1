"""Request metering: the services' documented per-minute budgets, per API key.

Window: a **sliding 60-second window of emulator time** over the per-minute budget (at most
``limit`` accepted requests in any 60 s; refused requests do not consume budget). It is the
strictest reading of "a per-minute budget" (a token bucket refilling ``limit/60`` a second
would let up to twice the budget through in a minute that starts full), so a client that
stays within it stays within the real services' limits. Emulator time: ``POST
/_emulator/clock/advance`` moves the window, and ``time_scale`` shortens it in real time.

Budgets: each service's :class:`~.service.RateLimitPlan` (its documented tiers, per bucket), its
start settings from the config (``EmulatedService.limit_settings``), then
``POST /_emulator/limits``. A service routes each metered request to a bucket (through
:meth:`.EmulatorState.meter`).

A ``None`` limit is unlimited (no metering headers either).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_runs.testing.emulator.clock import Clock
from airflow_provider_runs.testing.emulator.service import EmulatedService, RateLimitPlan

WINDOW_SECONDS = 60.0


@dataclass
class Verdict:
    """The outcome of metering one request.

    :param allowed: whether the request goes through.
    :param limit: the bucket's per-minute budget.
    :param remaining: budget left in the window after this request.
    :param reset_at: emulator time when the oldest counted request leaves the window (when the
        budget next grows); ``None`` when nothing is counted.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_at: float | None


def _limit(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"a per-minute limit must be a positive integer or null, not {value!r}")
    return value


class RateLimiter:
    """Per-(service, bucket, key) sliding windows and the current budgets.

    :param config: the emulator's settings (each service reads its start budgets from them).
    :param clock: the emulator clock.
    :param services: the emulated services; those with a ``rate_limits`` plan are metered.
    """

    def __init__(self, config: Any, clock: Clock, services: Sequence[EmulatedService]) -> None:
        self.config = config
        self.clock = clock
        self.services = [service for service in services if service.rate_limits is not None]
        self.plans: dict[str, RateLimitPlan] = {
            service.name: service.rate_limits for service in self.services if service.rate_limits
        }
        self.restore()

    def restore(self) -> None:
        """Back to the configured budgets, every window empty (``POST /_emulator/reset``)."""
        self.tiers: dict[str, str] = {}
        self.limits: dict[str, dict[str, int | None]] = {}
        self._hits: dict[tuple[str, str, str], deque[float]] = {}
        for service in self.services:
            for settings in service.limit_settings(self.config):
                self.configure(service.name, settings)

    def configure(self, service: str, settings: Any) -> None:
        """Apply ``{"tier": name}`` and/or per-bucket limits (``ValueError`` when invalid)."""
        plan = self.plans.get(service)
        if plan is None:
            raise ValueError(f"unknown service {service!r}; metered: {', '.join(self.plans)}")
        if isinstance(settings, str):
            settings = {"tier": settings}
        if not isinstance(settings, dict):
            raise ValueError(f"{service}: settings must be an object")
        tiers, aliases, buckets = plan.tiers, plan.aliases, plan.buckets
        limits = dict(self.limits.get(service, {}))
        tier = self.tiers.get(service)
        if "tier" in settings:
            tier = str(settings["tier"]).lower()
            if tier not in tiers:
                raise ValueError(f"{service}: tier must be one of {', '.join(tiers)}")
            limits = dict(tiers[tier])
        for name, value in settings.items():
            if name == "tier":
                continue
            bucket = aliases.get(name, name)
            if bucket not in buckets:
                known = sorted({"tier", *aliases, *buckets})
                raise ValueError(f"{service}: unknown setting {name!r}; known: {', '.join(known)}")
            limits[bucket] = _limit(value)
            tier = "custom"
        self.tiers[service], self.limits[service] = tier or "custom", limits

    def take(self, service: str, bucket: str, key: str) -> Verdict | None:
        """Meter one request; ``None`` when the bucket is unlimited."""
        limit = self.limits.get(service, {}).get(bucket)
        if limit is None:
            return None
        now = self.clock.now()
        hits = self._hits.setdefault((service, bucket, key), deque())
        while hits and hits[0] <= now - WINDOW_SECONDS:
            hits.popleft()
        if len(hits) >= limit:
            return Verdict(False, limit, 0, hits[0] + WINDOW_SECONDS)
        hits.append(now)
        return Verdict(True, limit, limit - len(hits), hits[0] + WINDOW_SECONDS)

    def retry_after(self, verdict: Verdict) -> int:
        """Whole seconds (at least 1) until the budget grows, in real time."""
        wait = 0.0 if verdict.reset_at is None else verdict.reset_at - self.clock.now()
        return max(1, math.ceil(self.clock.real_seconds(max(0.0, wait))))

    def reset_epoch(self, verdict: Verdict) -> int:
        """``X-RateLimit-Reset``: real epoch seconds when the budget grows (now if nothing counted)."""
        wait = 0.0 if verdict.reset_at is None else max(0.0, verdict.reset_at - self.clock.now())
        return math.ceil(time.time() + self.clock.real_seconds(wait))

    def describe(self) -> dict[str, Any]:
        """The ``/_emulator/limits`` document."""
        return {
            service: {"tier": self.tiers[service], "per_minute": dict(self.limits[service])}
            for service in self.plans
        } | {"window_seconds": WINDOW_SECONDS}
