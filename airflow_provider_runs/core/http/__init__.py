"""HTTP transport shared by every hook: one sync and one async driver with the same rules.

- A transport is used through ``send(ApiRequest)`` only (:class:`SyncTransport`,
  :class:`AsyncTransport`); a hook call describes its requests once
  (:mod:`~airflow_provider_runs.core.calls`).
- Connect and read timeouts are always set, and every request has a total deadline
  (``total_timeout``, cut to the deadline of :func:`request_deadline` when one is set).
- Redirects are never followed (Edges' ``X-API-Key`` would go along: the HTTP libraries strip
  only ``Authorization``); a 3xx is a :class:`~airflow_provider_runs.core.errors.RedirectError`.
  An absolute URL handed back by the service (a next-page link) is followed only on the base
  URL's origin.
- No cookie is ever stored or sent (the async session is shared by every connection).
- Bodies are read in chunks and capped (``max_response_bytes``); small streamed request bodies
  are sent with a ``Content-Length``, only big ones chunked.
- Every attempt first takes a token from the connection's request budget (a
  :class:`~airflow_provider_runs.core.limiter.RequestLimiter`, one per connection in this process,
  shared by both drivers) within the request's deadline, and reports the response's status and
  headers to it (429s slow it down; ``Retry-After`` and an exhausted ``X-RateLimit-Remaining``
  pause it).
- Retries and ambiguous writes: :mod:`~airflow_provider_runs.core.http.retrying`; whether a failure
  without a response reached the service is decided by the exception's types
  (:func:`~airflow_provider_runs.core.http.failures.reached_service`).
- Errors carry service, method, path, status code and the remote message; every text passes
  through a :class:`~airflow_provider_runs.core.redaction.Redactor` so that the API key never appears.

Modules: ``request`` (the request model), ``deadline``, ``config`` (connection settings, per-attempt
rules and errors), ``network`` (the proxy and the TLS trust, alike in both drivers), ``failures``,
``retrying``, ``sync`` (requests), ``aio`` (aiohttp) and ``session`` (the aiohttp session shared
per event loop).

The HTTP libraries load when first used, not when a DAG file imports an operator: the names of
:data:`LAZY` (the transports, the shared session, :func:`reached_service`) are imported from their
modules on first access, and those modules import aiohttp, requests, urllib3 and tenacity at their
top, once per process (nothing is imported per request).
"""

import importlib
from typing import TYPE_CHECKING, Any

from airflow_provider_runs.core.http.config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    USER_AGENT,
    TransportConfig,
)
from airflow_provider_runs.core.http.deadline import call_with_deadline, request_deadline
from airflow_provider_runs.core.http.request import (
    ApiRequest,
    ApiResponse,
    ErrorParser,
    Params,
    StreamedJson,
    default_error_parser,
    encode_params,
)

if TYPE_CHECKING:
    from airflow_provider_runs.core.http.aio import AsyncTransport
    from airflow_provider_runs.core.http.failures import reached_service
    from airflow_provider_runs.core.http.session import MAX_CONNECTIONS, shared_session
    from airflow_provider_runs.core.http.sync import SyncTransport

LAZY = {
    "AsyncTransport": "aio",
    "MAX_CONNECTIONS": "session",
    "SyncTransport": "sync",
    "reached_service": "failures",
    "shared_session": "session",
}
"""The names whose modules import an HTTP library: ``{name: module}``, imported on first access."""

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "MAX_CONNECTIONS",
    "USER_AGENT",
    "ApiRequest",
    "ApiResponse",
    "AsyncTransport",
    "ErrorParser",
    "Params",
    "StreamedJson",
    "SyncTransport",
    "TransportConfig",
    "call_with_deadline",
    "default_error_parser",
    "encode_params",
    "reached_service",
    "request_deadline",
    "shared_session",
]


def __getattr__(name: str) -> Any:
    """Import a name of :data:`LAZY` from its module on first access (then it is a global here)."""
    module = LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
