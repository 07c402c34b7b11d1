"""Shared emulator state: services, clock, counters, rate limits, fault rules, webhook records."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_runs.testing.emulator.clock import Clock
from airflow_provider_runs.testing.emulator.ratelimit import RateLimiter, Verdict
from airflow_provider_runs.testing.emulator.service import EmulatedService, ServiceEmulator, emulated_services

if TYPE_CHECKING:
    from airflow_provider_runs.testing.emulator.config import EmulatorConfig

FAULT_KINDS = ("status", "drop", "latency", "body", "redirect", "drip", "huge")


@dataclass
class FaultRule:
    """One fault-injection rule (see ``POST /_emulator/faults``).

    :param kind: ``status`` (answer with ``status``), ``drop`` (close the connection mid-response),
        ``latency`` (delay up to ``latency`` seconds), ``body`` (answer ``status`` with the raw
        ``body`` text and ``content_type``: malformed JSON, odd shapes, unexpected values), and the
        hostile server's: ``redirect`` (answer ``status``, a 3xx, with ``Location: location`` plus
        the request's path), ``drip`` (a 200 whose ``size`` bytes come one every ``interval``
        seconds) and ``huge`` (a 200 of ``size`` bytes, sent in 1 MiB pieces).
    :param service: only requests of this service.
    :param method: only this HTTP method.
    :param path_regex: only paths (below the service prefix) matching this regex.
    :param status: the status code of a ``status`` fault.
    :param retry_after: ``Retry-After`` sent with a status fault: seconds, or any text sent as is
        (``"inf"``, ``"1e12"``, an HTTP date).
    :param probability: chance that a matching request is hit.
    :param count: how many requests to hit at most (``None``: unlimited).
    :param latency: maximum delay in seconds.
    :param location: where a ``redirect`` fault points (an absolute URL; the path is appended).
    :param size: body size in bytes of a ``drip`` or ``huge`` fault.
    :param interval: seconds between two bytes of a ``drip`` fault.
    :param phase: ``before`` (the request is not processed) or ``after`` (it is processed, then
        the response is replaced: a create "timed out after the server received it").
    """

    kind: str
    service: str | None = None
    method: str | None = None
    path_regex: str | None = None
    status: int = 503
    retry_after: float | str | None = None
    probability: float = 1.0
    count: int | None = None
    latency: float = 0.0
    phase: str = "before"
    body: str | None = None
    content_type: str = "application/json"
    location: str | None = None
    size: int = 64
    interval: float = 0.5
    _regex: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if self.kind == "redirect" and not (self.location and 300 <= int(self.status) < 400):
            raise ValueError("a redirect fault needs a location and a 3xx status")
        if self.kind in ("drip", "huge") and (int(self.size) < 1 or float(self.interval) < 0):
            raise ValueError("size must be positive and interval not negative")
        if self.phase not in ("before", "after"):
            raise ValueError("phase must be before or after")
        self._regex = re.compile(self.path_regex) if self.path_regex else None

    def matches(self, service: str | None, method: str, subpath: str) -> bool:
        """Whether the rule applies to this request (before the dice roll)."""
        if self.count is not None and self.count <= 0:
            return False
        if self.service and self.service != service:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self._regex and not self._regex.search(subpath))


class EmulatorState:
    """Everything shared by the routers and the middleware.

    :param config: the emulator's settings.
    :param services: the emulated services (default: every known one).
    """

    def __init__(self, config: EmulatorConfig, services: Sequence[EmulatedService] | None = None) -> None:
        self.config = config
        self.services = tuple(emulated_services() if services is None else services)
        self.emulators: dict[str, ServiceEmulator] = {}
        """Each service's emulator object, by name (filled as the app builds the routers)."""
        self.clock = Clock(config.time_scale)
        self.random = random.Random(config.seed)
        self.limits = RateLimiter(config, self.clock, self.services)
        self.faults: list[FaultRule] = []
        self.reset_counters()
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.webhook_sink: list[dict[str, Any]] = []

    def reset_counters(self) -> None:
        """Zero every counter."""
        self.requests: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.service_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.faults_injected: dict[str, int] = defaultdict(int)

    def count(self, service: str, name: str, n: int = 1) -> None:
        """Bump a service counter (``tasks_created``, ``cancels``, ...)."""
        self.service_counts[service][name] += n

    def meter(self, service: str, bucket: str, key: str) -> Verdict | None:
        """Meter one request of ``key`` against ``service``'s ``bucket``, counting ``metered``,
        ``rate_limited`` and ``rate_limited_<bucket>``; ``None`` when the bucket is unlimited."""
        verdict = self.limits.take(service, bucket, key)
        if verdict is None:
            return None
        self.count(service, "metered")
        if not verdict.allowed:
            self.count(service, "rate_limited")
            self.count(service, f"rate_limited_{bucket}")
        return verdict

    def pick_fault(
        self, service: str | None, method: str, subpath: str, phase: str, exclude: tuple[FaultRule, ...] = ()
    ) -> FaultRule | None:
        """The first rule hitting this request in this phase (consumes its count); ``exclude``:
        rules already applied to this request (each latency rule delays a request once)."""
        for rule in self.faults:
            if any(rule is done for done in exclude):
                continue
            if rule.kind == "latency" and phase != "before":
                continue
            if rule.kind != "latency" and rule.phase != phase:
                continue
            if not rule.matches(service, method, subpath):
                continue
            if rule.probability < 1.0 and self.random.random() >= rule.probability:
                continue
            if rule.count is not None:
                rule.count -= 1
            return rule
        return None

    def counters(self) -> dict[str, Any]:
        """The ``GET /_emulator/counters`` document."""
        services: dict[str, Any] = {}
        for service in (s.name for s in self.services):
            counts = dict(self.service_counts.get(service, {}))
            services[service] = {
                "requests": dict(self.requests.get(service, {})),
                "tasks_created": counts.get("tasks_created", 0),
                "runs_created": counts.get("runs_created", 0),
                "cancels": counts.get("cancels", 0),
                "webhooks_sent": counts.get("webhooks_sent", 0),
                "metered": counts.get("metered", 0),
                "rate_limited": counts.get("rate_limited", 0),
                **counts,
            }
        for namespace, counts in self.service_counts.items():  # e.g. an extra router's counters
            services.setdefault(namespace, dict(counts))
        total = sum(sum(v.values()) for v in self.requests.values())
        return {
            **services,
            "requests_total": total,
            "faults_injected": {
                k: self.faults_injected.get(k, 0) for k in ("429", "500", "503", "drop", "latency")
            }
            | dict(self.faults_injected),
        }
