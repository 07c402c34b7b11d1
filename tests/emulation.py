"""The emulator as the tests use it.

Started by the ``emulator_factory`` fixture (``tests/conftest.py``, stopped with the test module) or
:func:`started_emulator` (a context manager, for other lifetimes); reset for each test by
:meth:`RunningEmulator.fresh`, with connections (the JSON of ``AIRFLOW_CONN_*`` variables) and
plain HTTP clients pointing at it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import requests

from airflow_provider_runs.services import ServiceDescriptor, register, unregister
from airflow_provider_runs.testing.emulator import EmulatorConfig, EmulatorServer

if TYPE_CHECKING:
    import pytest


def connection_json(conn_type: str, host: str, key: str | None = None, **extra: Any) -> str:
    """An Airflow connection in the JSON form of ``AIRFLOW_CONN_*`` variables.

    :param conn_type: the connection type (the service's name).
    :param host: the service's base URL.
    :param key: the API key (the connection's password); ``None``: no password.
    :param extra: the connection's extra fields.
    """
    conn: dict[str, Any] = {"conn_type": conn_type, "host": host, "extra": extra}
    if key is not None:
        conn["password"] = key
    return json.dumps(conn)


def auth_headers(service: str, key: str | None) -> dict[str, str]:
    """The header ``service`` reads its API key from (none without a key).

    :param service: ``inference_sh``, ``inferable`` or ``edges``.
    :param key: the API key.
    """
    if not key:
        return {}
    return {"X-API-Key": key} if service == "edges" else {"Authorization": f"Bearer {key}"}


class ServiceClient:
    """``requests`` bound to one service of an emulator: ``client(method, path, **kwargs)``.

    A call may name another ``key`` and add ``headers`` (they win over the key's header); other
    keyword arguments go to :func:`requests.request`.

    :param server: the emulator (tests reach its control API as ``client.server.control``).
    :param service: ``inference_sh``, ``inferable`` or ``edges``.
    :param key: the API key of calls that name none.
    :param prefix: a path under the service's base URL that every call's path follows (e.g. an
        Inferable cluster's ``/clusters/<id>``).
    :param timeout: seconds per request, unless a call says otherwise.
    """

    def __init__(
        self, server: RunningEmulator, service: str, key: str, *, prefix: str = "", timeout: float = 10.0
    ) -> None:
        self.server, self.service, self.key, self.timeout = server, service, key, timeout
        self.base = server.service_url(service) + prefix

    def __call__(
        self,
        method: str,
        path: str,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send ``method path`` with the key's header (``key``, default the client's)."""
        kwargs.setdefault("timeout", self.timeout)
        sent = {**auth_headers(self.service, key or self.key), **(headers or {})}
        return requests.request(method, self.base + path, headers=sent, **kwargs)


class RunningEmulator(EmulatorServer):
    """An :class:`EmulatorServer` with what tests do with it: connections, clients, a reset."""

    def api_key(self, service: str) -> str:
        """The first API key the emulator accepts for ``service`` (Inferable: in its first cluster)."""
        config = self.config
        keys = {
            "inference_sh": config.inference_sh_api_keys,
            "inferable": next(iter(config.inferable_clusters.values())),
            "edges": config.edges_api_keys,
        }
        return keys[service][0]

    def connection(self, service: str, key: str | None = None, **extra: Any) -> str:
        """A connection (JSON) to ``service`` on this emulator.

        :param service: ``inference_sh``, ``inferable`` or ``edges`` (also the connection type).
        :param key: its API key (default: :meth:`api_key`).
        :param extra: its extra fields.
        """
        return connection_json(service, self.service_url(service), key or self.api_key(service), **extra)

    def client(self, service: str, key: str | None = None, *, prefix: str = "", timeout: float = 10.0):
        """A :class:`ServiceClient` of ``service`` sending ``key`` (default: :meth:`api_key`)."""
        return ServiceClient(self, service, key or self.api_key(service), prefix=prefix, timeout=timeout)

    def fresh(self, monkeypatch: pytest.MonkeyPatch, **connections: str) -> Iterator[RunningEmulator]:
        """The body of a per-test fixture (``yield from emulator.fresh(...)``): the emulator reset
        (no tasks, faults or counters), ``AIRFLOW_CONN_<NAME>`` set for each of ``connections``
        (``name=json``, e.g. ``inference_sh_default=...``) for the test, its faults cleared after.
        """
        self.control.reset()
        for name, value in connections.items():
            monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", value)
        yield self
        self.control.clear_faults()


@contextmanager
def started_emulator(config: EmulatorConfig | None = None, **fields: Any) -> Iterator[RunningEmulator]:
    """A started :class:`RunningEmulator`, stopped on exit.

    :param config: its settings (default: ``EmulatorConfig()``).
    :param fields: :class:`EmulatorConfig` fields that replace the config's (keys, durations, time
        scale, rate-limit tiers, fault seed...).
    """
    config = EmulatorConfig(**fields) if config is None else dataclasses.replace(config, **fields)
    server = RunningEmulator(config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def emulating(service: ServiceDescriptor, settings: Any) -> Iterator[RunningEmulator]:
    """A started emulator that also serves ``service`` (a service defined in the tests), which is
    registered for the block and forgotten after it.

    :param service: the service's descriptor (with ``emulator`` parts).
    :param settings: the service's emulator settings (an instance of its settings dataclass).
    """
    register(service)
    try:
        with started_emulator(EmulatorConfig(service_settings={service.name: settings})) as server:
            yield server
    finally:
        unregister(service.name)
