"""Airflow connections that point the provider at an emulator, one per emulated service.

``DEFAULT_KEYS`` (service name -> the API key a default emulator accepts) and ``PREFIXES``
(service name -> where its API lives below the emulator's root) are computed over the emulated
services each time they are read.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_runs.testing.emulator.service import emulated_services


def default_keys() -> dict[str, str]:
    """The API key a default emulator accepts, by service."""
    return {service.name: service.default_key for service in emulated_services()}


def api_roots() -> dict[str, str]:
    """Where each service's API lives below the emulator's root (a connection's host path)."""
    return {service.name: service.api_root for service in emulated_services()}


def connection_env_for(
    base_url: str, keys: dict[str, str] | None = None, extras: dict[str, Any] | None = None
) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for every emulated service's default connection (JSON form).

    :param base_url: the emulator's root URL.
    :param keys: API keys by service (defaults: each service's default key).
    :param extras: extra fields added to every connection (e.g. ``{"total_timeout": 5}``).
    """
    keys = {**default_keys(), **(keys or {})}
    base = base_url.rstrip("/")
    env = {}
    for service in emulated_services():
        conn = {
            "conn_type": service.descriptor.conn_type,
            "host": base + service.api_root,
            "password": keys[service.name],
            "extra": {**service.connection_extra(), **(extras or {})},
        }
        env[f"AIRFLOW_CONN_{service.descriptor.default_conn_id.upper()}"] = json.dumps(conn)
    return env


def __getattr__(name: str) -> Any:
    """``DEFAULT_KEYS`` and ``PREFIXES``, computed over the emulated services."""
    if name == "DEFAULT_KEYS":
        return default_keys()
    if name == "PREFIXES":
        return api_roots()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
