"""The base of every service hook: connection settings, transports, and the run interface.

A service hook adds its connection-form fields, its state table, its API methods and the
four methods the generic trigger and operators rely on: :meth:`RunsHook.get_status` /
:meth:`RunsHook.aget_status`, :meth:`RunsHook.cancel_run` / :meth:`RunsHook.acancel_run`
and :meth:`RunsHook.run_url`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.common.compat.sdk import BaseHook, mask_secret

from airflow_provider_runs.core.errors import RunsApiError
from airflow_provider_runs.core.http import ApiRequest, ApiResponse, TransportConfig, default_error_parser
from airflow_provider_runs.core.limiter import RequestLimiter, limiter_for
from airflow_provider_runs.core.redaction import Redactor
from airflow_provider_runs.core.retry import RetryPolicy
from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.hooks.connection_cache import read_connection_shared
from airflow_provider_runs.hooks.connection_settings import transport_options
from airflow_provider_runs.services.descriptor import ServiceDescriptor
from airflow_provider_runs.validation import check_path_segment

if TYPE_CHECKING:  # imported when first built (they load the HTTP libraries): not at DAG parse
    from airflow_provider_runs.core.http.aio import AsyncTransport
    from airflow_provider_runs.core.http.sync import SyncTransport


def path_segment(value: Any, what: str = "id") -> str:
    """An id as one URL path segment: checked (``what`` names the argument in the error; see
    :func:`~airflow_provider_runs.validation.check_path_segment`), then percent-encoded."""
    return quote(check_path_segment(value, what), safe="")


def json_object(body: Any, *, service: str, label: str) -> dict[str, Any]:
    """Return ``body`` if it is a JSON object; otherwise raise naming the service (``label``)."""
    if not isinstance(body, dict):
        raise RunsApiError(
            f"{label} returned an unexpected body: expected a JSON object, got {type(body).__name__}",
            service=service,
        )
    return body


def _form_widgets(cls: type[RunsHook]) -> dict[str, Any]:
    """Extra connection-form fields (Airflow 3.1 only)."""
    return cls.descriptor.legacy_form_widgets()


def _field_behaviour(cls: type[RunsHook]) -> dict[str, Any]:
    """Connection-form layout (Airflow 3.1 only)."""
    return cls.descriptor.legacy_field_behaviour()


@dataclass(frozen=True)
class ServiceSettings:
    """What a hook reads from its Airflow connection.

    :param base_url: the API base URL.
    :param api_key: the API key (never logged, never in ``repr``).
    :param extras: the connection's extra fields (without any secret).
    """

    base_url: str
    api_key: str = field(repr=False)
    extras: Mapping[str, Any] = field(default_factory=dict)


class RunsHook(BaseHook):
    """Base hook of a run service.

    :param conn_id: the Airflow connection id; defaults to the service's default connection.
    :param retry: the retry policy for idempotent calls (and writes that provably did not land);
        default: the connection's extra ``max_retries`` (retries after the first attempt), else
        :data:`~airflow_provider_runs.core.retry.DEFAULT_RETRY`.
    :param connect_timeout: seconds to establish a connection; default: the connection's extra
        ``connect_timeout``, else the transport's default.
    :param read_timeout: seconds to wait for response data; default: the connection's extra
        ``read_timeout``, else the transport's default.
    :param total_timeout: seconds one request attempt may take in all; default: the connection's
        extra ``total_timeout``, else the transport's default.
    :param max_response_bytes: the largest response body read; default: the connection's extra
        ``max_response_bytes``, else the transport's default.
    :param requests_per_minute: this connection's request budget in this process (0: no limit);
        default: the connection's extra ``requests_per_minute``, else the service's default.
    :param kwargs: passed to Airflow's ``BaseHook``.
    """

    descriptor: ClassVar[ServiceDescriptor]
    """The service (name, connection type and form, URLs): every class attribute below that
    Airflow reads is derived from it."""
    service: ClassVar[str]
    """Service name, e.g. ``inference_sh`` (``descriptor.name``)."""
    conn_type: ClassVar[str]
    """The Airflow connection type (``descriptor.conn_type``)."""
    conn_name_attr: ClassVar[str]
    """The name of the hook argument holding the connection id (``descriptor.conn_id_arg``)."""
    default_conn_name: ClassVar[str]
    """The default connection id (``descriptor.default_conn_id``)."""
    hook_name: ClassVar[str]
    """The name shown in Airflow's UI (``descriptor.display_name``)."""
    default_base_url: ClassVar[str]
    """The public API base URL used when the connection has no host."""
    supports_cancel: ClassVar[bool] = False
    """Whether the service can cancel a run."""
    batch_size: int = 0
    """The most runs one :meth:`abatch_status` call reads in one request (counted by
    :meth:`batch_cost`); 0: the service has no batch status read. An instance may set it to 0
    when the service turns out not to support the batch read."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Derive a service hook's Airflow attributes from its :attr:`descriptor`.

        ``service``, ``conn_type``, ``conn_name_attr``, ``default_conn_name``, ``hook_name`` and
        ``default_base_url`` come from the descriptor. Airflow 3.1 reads
        ``get_connection_form_widgets`` / ``get_ui_field_behaviour`` only from a hook class's own
        ``__dict__`` (3.2+ reads ``conn-fields`` from the provider info instead), so each service
        hook gets them here too, built from the same declaration.
        """
        super().__init_subclass__(**kwargs)
        descriptor = cls.__dict__.get("descriptor")
        if descriptor is None:
            return
        cls.service = descriptor.name
        cls.conn_type = descriptor.conn_type
        cls.conn_name_attr = descriptor.conn_id_arg
        cls.default_conn_name = descriptor.default_conn_id
        cls.hook_name = descriptor.display_name
        cls.default_base_url = descriptor.default_base_url
        cls.get_connection_form_widgets = classmethod(_form_widgets)  # type: ignore[method-assign,assignment]
        cls.get_ui_field_behaviour = classmethod(_field_behaviour)  # type: ignore[method-assign,assignment]

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        total_timeout: float | None = None,
        max_response_bytes: int | None = None,
        requests_per_minute: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.requests_per_minute = requests_per_minute
        self.conn_id = conn_id or self.default_conn_name
        self.retry = retry
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_response_bytes = max_response_bytes
        self._settings: ServiceSettings | None = None
        self._async_transport: AsyncTransport | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- connection settings -------------------------------------------------------------
    def settings_from_connection(self, conn: Any, extras: Mapping[str, Any]) -> ServiceSettings:
        """Read base URL, key and extras from a connection; services may add checks."""
        host = (conn.host or "").strip()
        if host and not host.startswith(("http://", "https://")):
            host = f"https://{host}"
        if host and conn.port and f":{conn.port}" not in host:
            host = f"{host}:{conn.port}"
        if host and conn.schema:
            host = f"{host.rstrip('/')}/{conn.schema.strip('/')}"
        api_key = conn.password or ""
        if not api_key:
            raise ValueError(
                f"Connection {self.conn_id!r} has no API key: set the connection's password field."
            )
        mask_secret(api_key)
        base_url = (host or self.default_base_url).rstrip("/")
        return ServiceSettings(base_url=base_url, api_key=api_key, extras=extras)

    @property
    def settings(self) -> ServiceSettings:
        """The connection's settings, read once (sync)."""
        if self._settings is None:
            conn = self.get_connection(self.conn_id)
            self._settings = self.settings_from_connection(conn, conn.extra_dejson)
        return self._settings

    async def asettings(self) -> ServiceSettings:
        """The connection's settings, read once without blocking the event loop.

        The read is shared with the other hooks of the same class and connection on this event
        loop for a few seconds (:mod:`~airflow_provider_runs.hooks.connection_cache`): thousands of
        triggers starting together read each connection once.
        """
        if self._settings is None:
            conn, extras = await read_connection_shared(type(self), self.conn_id, self._aread_connection)
            self._settings = self.settings_from_connection(conn, extras)
        return self._settings

    async def _aread_connection(self) -> tuple[Any, dict[str, Any]]:
        conn = await get_async_connection(self.conn_id, hook=self)
        return conn, await get_async_extra_dejson(conn)

    @property
    def redactor(self) -> Redactor:
        """Hides this connection's key in texts and JSON values (e.g. a result echoing it)."""
        return Redactor((self.settings.api_key,))

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """Headers that authenticate a request (service-specific)."""
        return {"Authorization": f"Bearer {api_key}"}

    def error_parser(self, status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
        """Extract the service's message and code from an error body."""
        return default_error_parser(status_code, body, text)

    def transport_config(self, settings: ServiceSettings) -> TransportConfig:
        """Build the transport settings for this service.

        Timeouts, ``max_response_bytes`` and the retry policy come from the hook's arguments, else
        the connection's extras (:func:`~airflow_provider_runs.hooks.connection_settings.transport_options`:
        also ``max_retry_after``, ``proxy``, ``verify``, ``ca_bundle``), else the transport's
        defaults; a bad value raises a ``ValueError`` naming the field before any HTTP call. The
        request budget (:func:`~airflow_provider_runs.core.limiter.limiter_for`, one per connection
        in this process) runs at :meth:`requests_per_minute_setting`. A proxy's password is masked
        in Airflow's logs like the API key.
        """
        given = {
            "connect_timeout": self.connect_timeout,
            "read_timeout": self.read_timeout,
            "total_timeout": self.total_timeout,
            "max_response_bytes": self.max_response_bytes,
            "retry": self.retry,
        }
        options = transport_options(self.conn_id, settings.extras, given)
        config = TransportConfig(
            service=self.service,
            base_url=settings.base_url,
            auth_headers=self.auth_headers(settings.api_key),
            secrets=(settings.api_key,),
            error_parser=self.error_parser,
            limiter=limiter_for(
                self.service, settings.base_url, settings.api_key, self.requests_per_minute_setting(settings)
            ),
            **options,
        )
        for secret in config.proxy_secrets:
            mask_secret(secret)
        return config

    def requests_per_minute_setting(self, settings: ServiceSettings) -> float:
        """The request budget a minute: the hook's argument, else the connection's extra
        ``requests_per_minute``, else the service's default (0: no limit). Anything but a finite
        number >= 0 (or empty) is a ``ValueError`` naming the field."""
        value = self.requests_per_minute
        if value is None:
            value = settings.extras.get("requests_per_minute")
        if value is None or (isinstance(value, str) and not value.strip()):
            return self.descriptor.requests_per_minute
        try:
            number = float(value) if not isinstance(value, bool) else float("nan")
        except (TypeError, ValueError):
            number = float("nan")
        if not (0 <= number < float("inf")):
            raise ValueError(
                f"Connection {self.conn_id!r}: requests_per_minute must be a number >= 0 (0: no limit; "
                f"empty: the service's default); got {value!r}"
            )
        return number

    @cached_property
    def transport(self) -> SyncTransport:
        """The blocking transport (one ``requests.Session`` per hook)."""
        from airflow_provider_runs.core.http.sync import SyncTransport  # once per hook: cached

        return SyncTransport(self.transport_config(self.settings))

    async def atransport(self) -> AsyncTransport:
        """The async transport on the event loop's shared session."""
        if self._async_transport is None:
            from airflow_provider_runs.core.http.aio import AsyncTransport  # once per hook

            self._async_transport = AsyncTransport(self.transport_config(await self.asettings()))
        return self._async_transport

    def request_limiter(self) -> RequestLimiter | None:
        """The connection's request budget in this process, once a transport of this hook is built
        (``None`` before); never reads the connection, so a scheduler may ask at any time."""
        transport = self._async_transport or self.__dict__.get("transport")
        return None if transport is None else transport.config.limiter

    def get_conn(self) -> SyncTransport:
        """Return the blocking transport."""
        return self.transport

    # -- sending ------------------------------------------------------------------------
    def send(self, request: ApiRequest) -> ApiResponse:
        """Send a request through the blocking transport."""
        return self.transport.send(request)

    async def asend(self, request: ApiRequest) -> ApiResponse:
        """Send a request through the async transport."""
        return await (await self.atransport()).send(request)

    # -- the run interface ------------------------------------------------------------------
    def run_url(self, run_id: str) -> str:
        """A URL that shows the run (used in errors, logs and the extra link)."""
        template = self.settings.extras.get("run_url_template")
        if template:
            return str(template).format(run_id=run_id)
        return self.default_run_url(self.settings.base_url, run_id)

    def default_run_url(self, base_url: str, run_id: str) -> str:
        """The run URL when the connection gives no ``run_url_template``."""
        raise NotImplementedError

    def get_status(self, run_id: str) -> RunStatus:
        """Poll the run's status (blocking)."""
        raise NotImplementedError

    async def aget_status(self, run_id: str) -> RunStatus:
        """Poll the run's status (async)."""
        raise NotImplementedError

    @classmethod
    def member_runs(cls, run_id: str) -> tuple[str, ...]:
        """The service's own runs behind a run id: one, or a run group's members (Edges)."""
        return (run_id,)

    def batch_cost(self, run_id: str) -> int:
        """How much of a batch (:attr:`batch_size`) the run takes: one per member run."""
        return len(self.member_runs(run_id))

    def run_log(self, run_id: str) -> str | None:
        """The run's own log as text, where the service keeps one (its end is quoted in the task
        log when the run fails); ``None`` here: the service keeps none."""
        return None

    async def abatch_status(self, run_ids: Sequence[str]) -> dict[str, RunStatus]:
        """The statuses of several runs read with as few requests as the service allows.

        Each status is what :meth:`aget_status` would return for that run. A run the answer does
        not cover (missing from it, or one whose full status needs its own read) is simply absent:
        the caller reads it with :meth:`aget_status`. Errors of the batch request are raised.
        """
        return {}

    def cancel_run(self, run_id: str) -> None:
        """Cancel the run (blocking). Where the service cannot cancel (:attr:`supports_cancel`
        false) this default only logs where the run keeps going (it never deletes the run)."""
        if self.supports_cancel:
            raise NotImplementedError
        self.log.warning(
            "%s has no run-cancel endpoint; run %s keeps going: %s",
            self.descriptor.display_name,
            run_id,
            self.run_url(run_id),
        )

    async def acancel_run(self, run_id: str) -> None:
        """Cancel the run (async); where the service cannot cancel, log as :meth:`cancel_run`
        does (the settings are read without blocking first)."""
        if self.supports_cancel:
            raise NotImplementedError
        await self.asettings()
        self.cancel_run(run_id)

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated call; return ``(ok, message)`` as Airflow's UI expects."""
        try:
            self.check_connection()
        except (RunsApiError, ValueError) as exc:
            return False, str(exc)
        return True, f"Connection to {self.service} works."

    def check_connection(self) -> None:
        """The cheap authenticated call behind :meth:`test_connection`."""
        raise NotImplementedError
