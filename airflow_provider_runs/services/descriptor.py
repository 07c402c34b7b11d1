"""What a run service is, declared once: :class:`ServiceDescriptor`.

Provider info, the connection forms (declarative on Airflow 3.2+, the hook's methods on 3.1), the
hooks, the generic trigger (which serializes the service's name) and the emulator all read the
descriptor. It imports nothing heavy: hooks, operators and the emulator are named by import path.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlparse

RUN_URL_FIELD: dict[str, Any] = {
    "label": "Run URL template",
    "schema": {"type": ["string", "null"]},
    "description": "URL shown as the task's extra link, with {run_id}; default: the run's page in "
    "the service's web app.",
}
"""The extra-link URL override every connection type offers."""

EMULATOR_APP_PATH = "/app"
"""Where the emulator serves a service's web pages, below the service's API root: the stand-in
for the web app's host (``https://app.edges.run/runs/{uid}`` is ``{api root}/app/runs/{uid}``)."""

HIDDEN_FIELDS = ("schema", "port", "login", "extra")
"""Standard connection fields none of the services use."""


def _seconds_field(label: str, what: str, default: float) -> dict[str, Any]:
    """A timeout field of a connection form (seconds above 0; empty: ``default``)."""
    return {
        "label": label,
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "description": f"Seconds {what}. Empty: {default:g}.",
    }


TRANSPORT_FIELDS: dict[str, dict[str, Any]] = {
    "proxy": {
        "label": "Proxy",
        "schema": {"type": ["string", "null"]},
        "description": "URL of an HTTP proxy for this connection, http://[user:password@]host:port "
        "(the password is masked in logs). It wins over HTTP_PROXY/HTTPS_PROXY/NO_PROXY; empty: "
        "those environment variables of the worker and the triggerer decide.",
    },
    "verify": {
        "label": "Verify TLS certificates",
        "schema": {"type": ["boolean", "null"]},
        "description": "false: do not check the service's certificate (testing only). Empty: true.",
    },
    "ca_bundle": {
        "label": "CA bundle",
        "schema": {"type": ["string", "null"]},
        "description": "Path of a PEM file (or a directory of hashed certificates) of the CA "
        "certificates to trust instead of the default ones, e.g. a TLS-inspecting proxy's; it must "
        "exist on every worker and triggerer.",
    },
    "connect_timeout": _seconds_field("Connect timeout", "to open a connection", 10),
    "read_timeout": _seconds_field("Read timeout", "to wait for the next bytes of an answer", 60),
    "total_timeout": _seconds_field("Total timeout", "one request may take in all", 300),
    "max_retries": {
        "label": "Max retries",
        "schema": {"type": ["integer", "null"], "minimum": 0},
        "description": "Retries of a failed API call in a task (429, 5xx, timeouts; a write only "
        "when it provably did not reach the service), with backoff. 0: none. Empty: 4. A "
        "deferred task's status polls retry by their own rule.",
    },
}
"""The connection-form fields of the HTTP transport every service offers (read by
:mod:`airflow_provider_runs.hooks.connection_settings`)."""


def requests_per_minute_field(default: float) -> dict[str, Any]:
    """The request-budget field of a connection form, naming the service's default."""
    shown = f"{default:g} a minute" if default else "no limit"
    return {
        "label": "Requests per minute",
        "schema": {"type": ["number", "null"], "minimum": 0},
        "description": "This connection's request budget in each Airflow process that polls "
        "(triggerer, worker): the plan's budget divided by the number of such processes; 429s "
        f"slow it down further. 0: no limit. Empty: {shown}.",
    }


def load_object(path: str) -> Any:
    """Import ``package.module:attribute`` (or ``package.module.attribute``)."""
    module, sep, name = path.partition(":")
    if not sep:
        module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class EmulatorParts:
    """Where the emulator finds a service.

    :param prefix: the URL prefix of the service's routes (e.g. ``/inference-sh``); a connection's
        host is the emulator's base URL plus this prefix plus the path of ``default_base_url``
        (``/edges`` + ``/v1``).
    :param service: ``module:attribute`` of the emulated service (an object following
        :class:`airflow_provider_runs.testing.emulator.service.EmulatedService`).
    """

    prefix: str
    service: str


@dataclass(frozen=True)
class ServiceDescriptor:
    """One run service, declared once.

    :param name: the service's name in code, errors and serialized triggers (``inference_sh``).
    :param display_name: the name people read (``inference.sh``): integration and hook name.
    :param conn_type: the Airflow connection type; the connection argument is
        ``{conn_type}_conn_id`` and the default connection ``{conn_type}_default``.
    :param hook: ``module:Class`` of the service's hook.
    :param operators: modules holding the service's operators (provider info).
    :param sensors: modules holding the service's sensors (provider info).
    :param triggers: modules holding the service's triggers (provider info); the generic run
        trigger by default.
    :param default_base_url: the public API base URL (a connection without a host uses it).
    :param docs_url: the service's API documentation.
    :param console_url: the service's web console (where people look at runs).
    :param conn_fields: the extra connection-form fields beyond the run URL template and the
        request budget (JSON-schema fields as Airflow 3.2+ reads them).
    :param relabeling: connection-form labels of the standard fields (host, password).
    :param placeholders: connection-form placeholders of the standard fields.
    :param requests_per_minute: the request budget of a connection that sets none (0: no limit).
    :param emulator: where the emulator finds the service; ``None``: not emulated.
    """

    name: str
    display_name: str
    conn_type: str
    hook: str
    operators: tuple[str, ...] = ()
    sensors: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ("airflow_provider_runs.triggers.run_status",)
    default_base_url: str = ""
    docs_url: str = ""
    console_url: str = ""
    conn_fields: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    relabeling: Mapping[str, str] = field(default_factory=dict)
    placeholders: Mapping[str, str] = field(default_factory=dict)
    requests_per_minute: float = 0.0
    emulator: EmulatorParts | None = None

    @property
    def conn_id_arg(self) -> str:
        """The connection argument of the service's hook, operators and sensors."""
        return f"{self.conn_type}_conn_id"

    @property
    def default_conn_id(self) -> str:
        """The default connection id."""
        return f"{self.conn_type}_default"

    @property
    def hook_module(self) -> str:
        """The module of the service's hook."""
        return self.hook.partition(":")[0]

    @property
    def emulator_api_root(self) -> str | None:
        """Where the emulated API lives below the emulator's root: the emulator prefix plus the
        path of :attr:`default_base_url` (``/edges`` + ``/v1``); ``None``: not emulated."""
        if self.emulator is None:
            return None
        return self.emulator.prefix + urlparse(self.default_base_url).path.rstrip("/")

    def web_root(self, base_url: str) -> str:
        """The root of the web app (where people look at runs) for a connection whose API base
        URL is ``base_url``.

        An emulator's API root (a path ending with :attr:`emulator_api_root`) has its stand-in
        pages below :data:`EMULATOR_APP_PATH`; any other base URL (the public API, a proxy or
        gateway in front of it) has the hosted web app, :attr:`console_url`. A self-hosted
        deployment whose web app lives elsewhere sets the connection's ``run_url_template``.

        :param base_url: the connection's API base URL.
        """
        root = self.emulator_api_root
        if root and urlparse(base_url).path.rstrip("/").endswith(root):
            return base_url.rstrip("/") + EMULATOR_APP_PATH
        return self.console_url.rstrip("/")

    def web_page(self, base_url: str, *segments: str) -> str:
        """A page of the web app: :meth:`web_root` then ``segments``, each percent-encoded (an id
        holding ``/``, ``?`` or ``#`` stays one segment).

        :param base_url: the connection's API base URL.
        :param segments: the page's path segments (``"runs", run_uid``).
        """
        return "/".join([self.web_root(base_url), *(quote(str(s), safe="") for s in segments)])

    def load_hook(self) -> type:
        """Import the service's hook class."""
        return load_object(self.hook)  # type: ignore[no-any-return]

    def all_conn_fields(self) -> dict[str, Any]:
        """Every extra field of the connection form: the service's, the run URL template, the
        request budget, the transport's (:data:`TRANSPORT_FIELDS`)."""
        return {
            **{name: dict(spec) for name, spec in self.conn_fields.items()},
            "run_url_template": RUN_URL_FIELD,
            "requests_per_minute": requests_per_minute_field(self.requests_per_minute),
            **{name: dict(spec) for name, spec in TRANSPORT_FIELDS.items()},
        }

    def connection_type(self) -> dict[str, Any]:
        """The service's entry in the provider info's ``connection-types``."""
        return {
            "connection-type": self.conn_type,
            "hook-class-name": self.hook.replace(":", "."),
            "hook-name": self.display_name,
            "conn-fields": self.all_conn_fields(),
            "ui-field-behaviour": {
                "hidden-fields": list(HIDDEN_FIELDS),
                "relabeling": dict(self.relabeling),
                "placeholders": dict(self.placeholders),
            },
        }

    def legacy_form_widgets(self) -> dict[str, Any]:
        """Airflow 3.1's ``get_connection_form_widgets``, built from the declarative fields."""
        from wtforms import StringField  # type: ignore[import-not-found,unused-ignore]

        try:
            from flask_babel import lazy_gettext  # type: ignore[import-not-found,unused-ignore]
        except ImportError:  # pragma: no cover - depends on the installed UI stack

            def lazy_gettext(text: str) -> str:
                return text

        return {
            name: StringField(lazy_gettext(spec["label"]), description=spec.get("description", ""))
            for name, spec in self.all_conn_fields().items()
        }

    def legacy_field_behaviour(self) -> dict[str, Any]:
        """Airflow 3.1's ``get_ui_field_behaviour``, built from the declarative behaviour."""
        return {
            "hidden_fields": list(HIDDEN_FIELDS),
            "relabeling": dict(self.relabeling),
            "placeholders": dict(self.placeholders),
        }
