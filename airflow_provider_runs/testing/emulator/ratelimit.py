"""Request metering: the services' documented per-minute budgets, per API key.

Window: a **sliding 60-second window of emulator time** over the per-minute budget (at most
``limit`` accepted requests in any 60 s; refused requests do not consume budget). It is the
strictest reading of "a per-minute budget" (a token bucket refilling ``limit/60`` a second
would let up to twice the budget through in a minute that starts full), so a client that
stays within it stays within the real services' limits. Emulator time: ``POST
/_emulator/clock/advance`` moves the window, and ``time_scale`` shortens it in real time.

Budgets:

* Edges (``specs/edges.md`` §6.3, "All ``/runs/...`` routes share one per-minute budget"):
  bucket ``runs`` (every ``/v1/runs`` route) and, separately, bucket ``live`` (the "live
  actions" column: ``/v1/actions/{slug}/run/live``). Async and schedule launches
  (``/v1/actions/{slug}/run/async|schedule``) are neither a ``/runs/*`` route nor a live action:
  not metered. A tier sets both buckets; ``requests_per_minute`` overrides ``runs``.
* inference.sh (``specs/inference_sh.md`` §8.3): ``run`` (``POST /run``, ``/apps/run``) 100/min,
  ``get`` (``GET /tasks/{id}``, ``GET /tasks/{id}/status``) 1000/min, ``upload`` (``POST /files``)
  50/min; tier ``documented`` (default) or ``unlimited``.

A ``None`` limit is unlimited (no metering headers either).
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from airflow_provider_runs.testing.emulator.clock import Clock

WINDOW_SECONDS = 60.0

EDGES_TIERS: dict[str, dict[str, int | None]] = {
    # tier: {"runs": /runs/* req/min, "live": live actions req/min} (spec §6.3)
    "trial": {"runs": 30, "live": 60},
    "bronze": {"runs": 60, "live": 120},
    "silver": {"runs": 150, "live": 600},
    "gold": {"runs": 150, "live": 600},
    "platinum": {"runs": 300, "live": 1200},
    "diamond": {"runs": 300, "live": 1200},
    "titanium": {"runs": 600, "live": 1200},
    "unlimited": {"runs": None, "live": None},
}
INFERENCE_SH_TIERS: dict[str, dict[str, int | None]] = {
    "documented": {"run": 100, "get": 1000, "upload": 50},  # spec §8.3
    "unlimited": {"run": None, "get": None, "upload": None},
}
TIERS = {"edges": EDGES_TIERS, "inference_sh": INFERENCE_SH_TIERS}
ALIASES = {"edges": {"requests_per_minute": "runs", "live_requests_per_minute": "live"}, "inference_sh": {}}


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
    """Per-(service, bucket, key) sliding windows and the current budgets."""

    def __init__(self, config: Any, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.restore()

    def restore(self) -> None:
        """Back to the configured budgets, every window empty (``POST /_emulator/reset``)."""
        self.tiers: dict[str, str] = {}
        self.limits: dict[str, dict[str, int | None]] = {}
        self._hits: dict[tuple[str, str, str], deque[float]] = {}
        self.configure("edges", {"tier": self.config.edges_rate_limit_tier})
        if self.config.edges_rate_limit_per_minute is not None:
            self.configure("edges", {"requests_per_minute": self.config.edges_rate_limit_per_minute})
        self.configure("inference_sh", {"tier": self.config.inference_sh_rate_limit_tier})
        if self.config.inference_sh_rate_limits:
            self.configure("inference_sh", dict(self.config.inference_sh_rate_limits))

    def configure(self, service: str, settings: Any) -> None:
        """Apply ``{"tier": name}`` and/or per-bucket limits (``ValueError`` when invalid)."""
        if service not in TIERS:
            raise ValueError(f"unknown service {service!r}; metered: {', '.join(TIERS)}")
        if isinstance(settings, str):
            settings = {"tier": settings}
        if not isinstance(settings, dict):
            raise ValueError(f"{service}: settings must be an object")
        tiers, aliases = TIERS[service], ALIASES[service]
        buckets = set(next(iter(tiers.values())))
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
            for service in TIERS
        } | {"window_seconds": WINDOW_SECONDS}
