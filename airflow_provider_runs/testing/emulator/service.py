"""What the emulator needs from each service: :class:`EmulatedService` and :class:`ServiceEmulator`.

Every :class:`~airflow_provider_runs.services.ServiceDescriptor` with ``emulator`` parts names
an :class:`EmulatedService` (``module:SERVICE``). The generic modules (app, config, control,
faults, webhooks, rate limits, OpenAPI, connections, CLI) only ever iterate over
:func:`emulated_services`, so a service registered at run time (a test's toy service) is served
with no change to them. A service provides:

- its routes (``build_router``) and the object holding its state (a :class:`ServiceEmulator`:
  reset, scenarios, webhooks due, tags of the runs created);
- its settings (``settings``: a dataclass whose fields join
  :class:`~airflow_provider_runs.testing.emulator.config.EmulatorConfig`), API keys and the
  connection extras pointing the provider at it;
- the body of an injected fault (``fault_body``), its rate-limit tiers (``rate_limits``), its
  OpenAPI paths, its command-line options and extra control routes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from airflow_provider_runs.services import ServiceDescriptor, known_services
from airflow_provider_runs.services.descriptor import load_object

if TYPE_CHECKING:
    from fastapi import APIRouter

    from airflow_provider_runs.testing.emulator.state import EmulatorState


class Webhook(NamedTuple):
    """A notification the emulator owes: POST ``body`` to ``url``; ``ref`` names the run."""

    url: str
    body: Any
    ref: str


@dataclass(frozen=True)
class FaultAnswer:
    """The answer of an injected status fault: the body in the service's own shape."""

    body: bytes
    content_type: str = "application/json"


@dataclass(frozen=True)
class RateLimitPlan:
    """A service's metered budgets (see :mod:`.ratelimit`).

    :param tiers: plan name -> ``{bucket: requests a minute or None (unlimited)}``; every tier
        names the same buckets.
    :param aliases: other names of buckets accepted by ``POST /_emulator/limits``.
    """

    tiers: Mapping[str, Mapping[str, int | None]]
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def buckets(self) -> set[str]:
        """The buckets the tiers meter."""
        return set(next(iter(self.tiers.values()), {}))


class ServiceEmulator:
    """State and behaviour of one emulated service (the object its routes share).

    :param state: the emulator's shared state (clock, counters, limits, config).
    :param service: the service emulated.
    """

    def __init__(self, state: EmulatorState, service: EmulatedService) -> None:
        self.state = state
        self.service = service
        self.name = service.name
        self.settings: Any = state.config.settings_of(service)
        self.scenarios: list[dict[str, Any]] = []

    @property
    def now(self) -> float:
        """Emulator time."""
        return self.state.clock.now()

    def count(self, counter: str, n: int = 1) -> None:
        """Bump one of this service's counters."""
        self.state.count(self.name, counter, n)

    def reset(self) -> None:
        """Forget every run and scenario (``POST /_emulator/reset``); subclasses forget more."""
        self.scenarios.clear()

    def add_scenario(self, scenario: dict[str, Any], app: str | None, count: int | None) -> int:
        """Give the next ``count`` runs (of ``app``; all when ``None``) this scenario; return how
        many default scenarios are waiting."""
        self.scenarios.append({"app": app, "remaining": count, "scenario": scenario})
        return len(self.scenarios)

    def take_scenario(self, app: str | None = None) -> dict[str, Any]:
        """Consume the first default scenario that applies (to ``app``, or to every app),
        counting down its uses; ``{}`` when none applies."""
        for i, default in enumerate(self.scenarios):
            if default.get("app") in (None, app):
                if default.get("remaining") is not None:
                    default["remaining"] -= 1
                    if default["remaining"] <= 0:
                        self.scenarios.pop(i)
                return dict(default.get("scenario") or {})
        return {}

    def due_webhooks(self) -> list[Webhook]:
        """Notifications due since the last look (each returned once); none by default."""
        return []

    def created_tags(self) -> list[str]:
        """A tag of every run created so far (``GET /_emulator/created``: what a soak counts
        duplicates with)."""
        return []


class EmulatedService:
    """One emulated service, found through its descriptor's ``emulator.service`` path.

    :param descriptor: the service's declaration (name, connection type, emulator prefix).
    """

    settings: type | None = None
    """A dataclass of the service's settings; its fields (with defaults) join ``EmulatorConfig``
    (for a service registered after ``config`` was imported they live in
    ``EmulatorConfig.service_settings[name]``)."""
    rate_limits: RateLimitPlan | None = None
    """The service's metered budgets; ``None``: never metered."""
    default_key: str = "emulator_key"
    """The API key a default emulator accepts (and the default connections carry)."""
    router: str = ""
    """``module:function`` building the routes: ``(state, service) -> (APIRouter, emulator)``
    (imported when an app is built, so naming the service stays light)."""
    openapi: str = ""
    """``module:function`` returning :meth:`openapi_paths` (empty: none)."""

    def __init__(self, descriptor: ServiceDescriptor) -> None:
        if descriptor.emulator is None:
            raise ValueError(f"{descriptor.name} declares no emulator parts")
        self.descriptor = descriptor

    @property
    def name(self) -> str:
        """The service's name."""
        return self.descriptor.name

    @property
    def prefix(self) -> str:
        """The URL prefix of the service's routes: what faults and counters go by."""
        assert self.descriptor.emulator is not None
        return self.descriptor.emulator.prefix

    @property
    def api_root(self) -> str:
        """Where the API lives below the emulator's root: the prefix plus the path of the
        public base URL (``/edges`` + ``/v1``); a connection's host is the base URL plus this."""
        assert self.descriptor.emulator_api_root is not None
        return self.descriptor.emulator_api_root

    def owns(self, path: str) -> bool:
        """Whether a request path belongs to the service."""
        return path == self.prefix or path.startswith(self.prefix + "/")

    def build_router(self, state: EmulatorState) -> tuple[APIRouter, ServiceEmulator]:
        """The service's routes (below :attr:`api_root`) and the object holding its state (by
        default: what :attr:`router` builds)."""
        if not self.router:
            raise NotImplementedError(f"{type(self).__name__} names no router and builds none")
        return load_object(self.router)(state, self)  # type: ignore[no-any-return]

    def api_keys(self, config: Any) -> Sequence[str]:
        """The API keys ``config`` makes the service accept (the first one goes into its
        default connection)."""
        return [self.default_key]

    def connection_extra(self) -> dict[str, Any]:
        """The ``extra`` of the default connection pointing at the emulator."""
        return {}

    def limit_settings(self, config: Any) -> list[dict[str, Any]]:
        """The rate-limit settings ``config`` starts with, applied in order (``{"tier": ...}``,
        bucket overrides); see :meth:`.RateLimiter.configure`."""
        return []

    def fault_body(self, status: int, message: str) -> FaultAnswer:
        """The body of an injected ``status`` fault, in the service's own error shape."""
        return FaultAnswer(json.dumps({"detail": message}).encode())

    def control_router(self, emulator: ServiceEmulator) -> APIRouter | None:
        """Extra routes below ``/_emulator`` (``None``: none)."""
        return None

    def openapi_paths(self) -> dict[str, dict[str, Any]]:
        """OpenAPI path items relative to :attr:`api_root`, written from the spec (they drive the
        fuzz of ``tests/emulator/test_openapi_fuzz.py``); by default what :attr:`openapi` returns."""
        return load_object(self.openapi)() if self.openapi else {}  # type: ignore[no-any-return]

    def add_cli_options(self, group: argparse._ArgumentGroup) -> None:
        """Command-line options of the service: each ``dest`` is a settings field, set when the
        option's value is not ``None``; none by default."""


_LOADED: dict[str, EmulatedService] = {}


def service_of(descriptor: ServiceDescriptor) -> EmulatedService | None:
    """The emulated service a descriptor names (imported once); ``None``: not emulated."""
    if descriptor.emulator is None:
        return None
    path = descriptor.emulator.service
    if path not in _LOADED:
        _LOADED[path] = load_object(path)
    return _LOADED[path]


def emulated_services() -> tuple[EmulatedService, ...]:
    """Every known service that has an emulator, in the order of ``known_services()``."""
    return tuple(service for d in known_services() if (service := service_of(d)) is not None)


def emulated(name: str) -> EmulatedService:
    """The emulated service called ``name`` (``KeyError`` otherwise)."""
    for service in emulated_services():
        if service.name == name:
            return service
    raise KeyError(
        f"no emulated service {name!r}; emulated: {', '.join(s.name for s in emulated_services())}"
    )


def service_for_path(services: Sequence[EmulatedService], path: str) -> EmulatedService | None:
    """The service (of ``services``) a request path belongs to."""
    return next((service for service in services if service.owns(path)), None)
