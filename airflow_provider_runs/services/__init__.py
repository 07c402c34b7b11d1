"""The run services this provider knows, each a :class:`ServiceDescriptor` (see ``descriptor``).

The three built-in services are always known; another one (e.g. a test's toy service) is added
with :func:`register` by the module that defines it.
"""

from __future__ import annotations

from airflow_provider_runs.services.builtin import EDGES, INFERABLE, INFERENCE_SH
from airflow_provider_runs.services.descriptor import EmulatorParts, ServiceDescriptor

BUILT_IN: tuple[ServiceDescriptor, ...] = (INFERENCE_SH, INFERABLE, EDGES)
"""The services published in the provider info."""

_REGISTRY: dict[str, ServiceDescriptor] = {service.name: service for service in BUILT_IN}


def register(service: ServiceDescriptor) -> ServiceDescriptor:
    """Make ``service`` known by name (idempotent for the same descriptor); return it."""
    known = _REGISTRY.get(service.name)
    if known is not None and known != service:
        raise ValueError(f"another service is already registered as {service.name!r}")
    _REGISTRY[service.name] = service
    return service


def unregister(name: str) -> None:
    """Forget a registered service (built-in ones stay)."""
    if name not in {service.name for service in BUILT_IN}:
        _REGISTRY.pop(name, None)


def service_named(name: str) -> ServiceDescriptor:
    """The service called ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown run service {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def known_services() -> tuple[ServiceDescriptor, ...]:
    """Every known service: the built-in ones first, then the registered ones."""
    return tuple(_REGISTRY.values())


__all__ = [
    "BUILT_IN",
    "EDGES",
    "INFERABLE",
    "INFERENCE_SH",
    "EmulatorParts",
    "ServiceDescriptor",
    "known_services",
    "register",
    "service_named",
    "unregister",
]
