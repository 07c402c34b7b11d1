"""HTTP transport shared by every hook: one sync and one async flavour with the same rules.

- Connect and read timeouts are always set.
- Idempotent requests are retried on 429, 5xx, timeouts and resets with exponential backoff,
  full jitter and ``Retry-After`` (tenacity). Non-idempotent writes are retried only when the
  request provably never reached the service (connection refused) or was refused with 429;
  any other failure becomes :class:`AmbiguousWriteError` so the caller can look the resource
  up before writing again.
- Errors carry service, method, path, status code and the remote message; every text passes
  through a :class:`Redactor` so that the API key never appears.
- The async flavour shares one ``aiohttp.ClientSession`` per event loop (all triggers of a
  triggerer share it); authentication goes in per-request headers, so triggers of different
  connections can share the session. The session is closed when the loop shuts down its
  async generators (``asyncio.run`` and ``asyncio.Runner`` do).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import requests
import tenacity

from airflow_provider_runs.core.errors import (
    AmbiguousWriteError,
    MalformedResponseError,
    NotSentError,
    RateLimitedError,
    RunsApiError,
    TransientError,
    error_class_for_status,
)
from airflow_provider_runs.core.redaction import Redactor
from airflow_provider_runs.core.retry import DEFAULT_RETRY, RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

USER_AGENT = "airflow-provider-runs/0.1"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0

ErrorParser = Callable[[int, Any, str], tuple["str | None", "str | None"]]
"""``(status_code, parsed_json_or_None, raw_text) -> (remote_message, code)``."""


class StreamedJson:
    """A JSON body written piece by piece (e.g. 100,000 inputs), never held whole in memory.

    :param factory: returns a fresh iterator of ``bytes`` chunks each time it is called, so the
        body can be sent again on a retry.
    :param description: a short text for logs (never the content).
    """

    def __init__(self, factory: Callable[[], Iterable[bytes]], description: str = "streamed JSON") -> None:
        self.factory = factory
        self.description = description

    def chunks(self) -> Iterator[bytes]:
        """A fresh iterator over the body's bytes."""
        return iter(self.factory())

    async def achunks(self) -> AsyncIterator[bytes]:
        """The same chunks as an async iterator (for aiohttp)."""
        for chunk in self.factory():
            yield chunk

    def __repr__(self) -> str:
        return f"StreamedJson({self.description})"


def _sync_body(json_body: Any) -> Any:
    if json_body is None:
        return None
    if isinstance(json_body, StreamedJson):
        return json_body.chunks()
    return json.dumps(json_body)


def _async_body(json_body: Any) -> Any:
    if json_body is None:
        return None
    if isinstance(json_body, StreamedJson):
        return json_body.achunks()
    return json.dumps(json_body)


@dataclass(frozen=True)
class ApiRequest:
    """A request description, built once and sent by either transport.

    :param method: HTTP method.
    :param path: path below the base URL, or an absolute URL (pagination links).
    :param params: query parameters (a list of pairs for repeated keys).
    :param json_body: the JSON body, if any.
    :param idempotent: whether repeating it is harmless (``None``: decided by the method).
    :param read_timeout: overrides the transport's read timeout (long polls).
    :param headers: extra headers.
    """

    method: str
    path: str
    params: Mapping[str, Any] | list[tuple[str, Any]] | None = None
    json_body: Any = None
    idempotent: bool | None = None
    read_timeout: float | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ApiResponse:
    """A successful response: status code, headers and the decoded JSON body (or ``None``)."""

    status_code: int
    headers: Mapping[str, str]
    body: Any


def default_error_parser(status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
    """Find a message and a code in common error body shapes; fall back to the raw text."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return _first_str(err, ("message", "detail", "title")), _first_str(err, ("code", "label"))
        message = _first_str(body, ("detail", "message", "title", "error"))
        code = _first_str(body, ("code", "error_label"))
        if message or code:
            return message, code
    snippet = (text or "").strip()
    return (snippet[:500] or None), None


def _first_str(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass
class TransportConfig:
    """Everything a transport needs to know about one service connection.

    :param service: service name used in errors and logs.
    :param base_url: URL prefix of every path (no trailing slash).
    :param auth_headers: headers that authenticate a request (sent per request, never logged).
    :param secrets: values to redact from every text (the API key).
    :param connect_timeout: seconds to establish a connection.
    :param read_timeout: seconds to wait for response data.
    :param retry: the retry policy for idempotent requests.
    :param error_parser: extracts the remote message and code from an error body.
    """

    service: str
    base_url: str
    auth_headers: Mapping[str, str]
    secrets: tuple[str, ...] = ()
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    retry: RetryPolicy = DEFAULT_RETRY
    error_parser: ErrorParser = default_error_parser

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.redact = Redactor(self.secrets)
        self._plain_headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.auth_headers}
        self._timeouts: dict[float | None, Any] = {}

    def aiohttp_timeout(self, read_timeout: float | None) -> Any:
        """The (cached) ``aiohttp.ClientTimeout`` for a read timeout."""
        timeout = self._timeouts.get(read_timeout)
        if timeout is None:
            # sock_connect, not connect: ``connect`` also bounds the wait for a pooled connection,
            # which thousands of polling triggers legitimately queue for, and it arms a timer on
            # every request even when a pooled connection is reused.
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=self.connect_timeout, sock_read=read_timeout or self.read_timeout
            )
            self._timeouts[read_timeout] = timeout
        return timeout

    def __repr__(self) -> str:  # never show headers
        return f"TransportConfig(service={self.service!r}, base_url={self.base_url!r})"

    def url(self, path: str) -> str:
        """Join ``path`` (or return it unchanged when it is already absolute) to the base URL."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def headers(self, extra: Mapping[str, str] | None, has_body: bool) -> dict[str, str]:
        """Build request headers: auth, accept, user agent, content type when there is a body.

        The common case (no body, no extra headers) reuses one prebuilt dict: polls are hot.
        """
        if not has_body and not extra:
            return self._plain_headers
        headers = dict(self._plain_headers)
        if has_body:
            headers["Content-Type"] = "application/json"
        if extra:
            headers.update(extra)
        return headers

    def http_error(self, method: str, path: str, status: int, text: str, headers: Mapping[str, str]):
        """Build the error for a non-2xx response."""
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        remote_message, code = self.error_parser(status, body, text)
        cls = error_class_for_status(status)
        retry_after = parse_retry_after(headers.get("Retry-After"))
        return cls(
            self.redact(f"{self.service} API call failed with HTTP {status}"),
            service=self.service,
            method=method,
            path=_path_only(path),
            status_code=status,
            remote_message=self.redact(remote_message) if remote_message else None,
            code=code,
            retry_after=retry_after,
        )

    def network_error(self, method: str, path: str, exc: BaseException, *, sent: bool) -> RunsApiError:
        """Build the error for a failure without a response (timeout, reset, refused)."""
        cls = TransientError if sent else NotSentError
        reason = type(exc).__name__
        detail = str(exc)
        text = f"{self.service} API call failed without a response ({reason}: {detail})"
        return cls(self.redact(text), service=self.service, method=method, path=_path_only(path))

    def decode(self, method: str, path: str, status: int, text: str | bytes, headers: Mapping[str, str]):
        """Decode a 2xx body (text or raw bytes); an empty body is ``None``; malformed JSON is a
        transient error."""
        if not text.strip():
            return ApiResponse(status, headers, None)
        try:
            body = json.loads(text)
        except ValueError as exc:
            if isinstance(text, bytes):
                text = text.decode("utf-8", errors="replace")
            raise MalformedResponseError(
                self.redact(f"{self.service} API answered HTTP {status} with a body that is not JSON"),
                service=self.service,
                method=method,
                path=_path_only(path),
                status_code=status,
                remote_message=self.redact(text[:200]),
            ) from exc
        return ApiResponse(status, headers, body)


def _path_only(path: str) -> str:
    if path.startswith(("http://", "https://")):
        path = "/" + path.split("/", 3)[-1] if path.count("/") >= 3 else "/"
    return path.split("?", 1)[0]


def _should_retry(exc: BaseException, idempotent: bool, policy: RetryPolicy) -> bool:
    if not isinstance(exc, RunsApiError) or not exc.retryable:
        return False
    if exc.retry_after is not None and exc.retry_after > policy.max_retry_after:
        return False
    if idempotent:
        return True
    return isinstance(exc, RateLimitedError | NotSentError)


def _retrying_kwargs(policy: RetryPolicy, idempotent: bool, describe: str) -> dict[str, Any]:
    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return policy.backoff(state.attempt_number, getattr(exc, "retry_after", None))

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s failed (attempt %d of %d), retrying in %.1fs: %s",
            describe,
            state.attempt_number,
            policy.max_attempts,
            state.upcoming_sleep,
            exc,
        )

    return {
        "stop": tenacity.stop_after_attempt(policy.max_attempts),
        "wait": wait,
        "retry": tenacity.retry_if_exception(lambda e: _should_retry(e, idempotent, policy)),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def _ambiguous(exc: RunsApiError, idempotent: bool) -> RunsApiError:
    """A failed write that may have landed becomes an :class:`AmbiguousWriteError`."""
    if idempotent or not isinstance(exc, TransientError) or isinstance(exc, NotSentError):
        return exc
    err = AmbiguousWriteError(
        exc.message + "; the request may have reached the service",
        service=exc.service,
        method=exc.method,
        path=exc.path,
        status_code=exc.status_code,
        remote_message=exc.remote_message,
        code=exc.code,
    )
    err.__cause__ = exc
    return err


class SyncTransport:
    """Blocking transport on one ``requests.Session`` (one per hook).

    :param config: the service connection settings.
    """

    def __init__(self, config: TransportConfig) -> None:
        self.config = config
        self.session = requests.Session()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> ApiResponse:
        """Send one request with retries; return the decoded 2xx response or raise.

        :param idempotent: whether repeating the request is harmless; defaults to ``True`` for
            GET/HEAD/PUT/DELETE and ``False`` otherwise.
        """
        idem = method.upper() in {"GET", "HEAD", "PUT", "DELETE"} if idempotent is None else idempotent
        policy = self.config.retry
        call = lambda: self._once(method, path, params, json_body, headers, read_timeout)  # noqa: E731
        try:
            if policy.max_attempts <= 1:
                return call()
            describe = f"{method} {_path_only(path)}"
            retrying = tenacity.Retrying(**_retrying_kwargs(policy, idem, describe))
            return retrying(call)
        except RunsApiError as exc:
            raise _ambiguous(exc, idem) from exc.__cause__

    def _once(self, method, path, params, json_body, headers, read_timeout) -> ApiResponse:
        cfg = self.config
        try:
            resp = self.session.request(
                method,
                cfg.url(path),
                params=encode_params(params),
                data=_sync_body(json_body),
                headers=cfg.headers(headers, json_body is not None),
                timeout=(cfg.connect_timeout, read_timeout or cfg.read_timeout),
            )
            text = resp.text
        except requests.exceptions.ConnectionError as exc:
            not_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or _is_connect_failure(exc)
            raise cfg.network_error(method, path, exc, sent=not not_sent) from None
        except requests.exceptions.RequestException as exc:
            sent = not isinstance(exc, requests.exceptions.ConnectTimeout)
            raise cfg.network_error(method, path, exc, sent=sent) from None
        if resp.status_code >= 400:
            raise cfg.http_error(method, path, resp.status_code, text, resp.headers)
        return cfg.decode(method, path, resp.status_code, text, resp.headers)

    def send(self, req: ApiRequest) -> ApiResponse:
        """Send an :class:`ApiRequest`."""
        return self.request(
            req.method,
            req.path,
            params=req.params,
            json_body=req.json_body,
            idempotent=req.idempotent,
            headers=req.headers,
            read_timeout=req.read_timeout,
        )

    def close(self) -> None:
        """Close the underlying session."""
        self.session.close()


def _is_connect_failure(exc: requests.exceptions.ConnectionError) -> bool:
    text = repr(exc)
    return (
        any(
            marker in text
            for marker in ("NewConnectionError", "Connection refused", "NameResolutionError", "Max retries")
        )
        and "RemoteDisconnected" not in text
        and "ProtocolError" not in text
    )


_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)
_GUARDS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncIterator[None]] = (
    weakref.WeakKeyDictionary()
)
MAX_CONNECTIONS = 100
"""Connection pool size of the shared session (per event loop)."""


async def _close_on_shutdown(session: aiohttp.ClientSession) -> AsyncIterator[None]:
    """An async generator whose ``finally`` closes the session at ``loop.shutdown_asyncgens()``."""
    try:
        yield
    finally:
        await session.close()


_LAST: tuple[weakref.ref[asyncio.AbstractEventLoop], aiohttp.ClientSession] | None = None
"""The last loop asked for and its session: every poll asks, nearly always from the same loop."""


async def shared_session() -> aiohttp.ClientSession:
    """Return the event loop's shared ``aiohttp.ClientSession``, creating it on first use."""
    global _LAST
    loop = asyncio.get_running_loop()
    if _LAST is not None and _LAST[0]() is loop and not _LAST[1].closed:
        return _LAST[1]
    session = _SESSIONS.get(loop)
    if session is None or session.closed:
        # No ``skip_auto_headers``: every request carries its own User-Agent, and that option
        # sends each request through aiohttp's slow header path (a sorted copy per request).
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, ttl_dns_cache=300),
        )
        _SESSIONS[loop] = session
        guard = _close_on_shutdown(session)
        await guard.__anext__()
        _GUARDS[loop] = guard
    _LAST = (weakref.ref(loop), session)
    return session


async def close_shared_session() -> None:
    """Close the current loop's shared session now (tests, or a clean shutdown)."""
    loop = asyncio.get_running_loop()
    session = _SESSIONS.pop(loop, None)
    guard = _GUARDS.pop(loop, None)
    if session is not None and not session.closed:
        await session.close()
    if guard is not None:
        await guard.aclose()


class AsyncTransport:
    """Non-blocking transport on the event loop's shared ``aiohttp`` session.

    :param config: the service connection settings.
    """

    def __init__(self, config: TransportConfig) -> None:
        self.config = config

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float | None = None,
    ) -> ApiResponse:
        """Send one request with retries; return the decoded 2xx response or raise.

        Same rules as :meth:`SyncTransport.request`.
        """
        idem = method.upper() in {"GET", "HEAD", "PUT", "DELETE"} if idempotent is None else idempotent
        policy = self.config.retry
        try:
            if policy.max_attempts <= 1:
                return await self._once(method, path, params, json_body, headers, read_timeout)
            describe = f"{method} {_path_only(path)}"
            retrying = tenacity.AsyncRetrying(**_retrying_kwargs(policy, idem, describe))
            return await retrying(self._once, method, path, params, json_body, headers, read_timeout)
        except RunsApiError as exc:
            raise _ambiguous(exc, idem) from exc.__cause__

    async def send(self, req: ApiRequest) -> ApiResponse:
        """Send an :class:`ApiRequest`."""
        return await self.request(
            req.method,
            req.path,
            params=req.params,
            json_body=req.json_body,
            idempotent=req.idempotent,
            headers=req.headers,
            read_timeout=req.read_timeout,
        )

    async def _once(self, method, path, params, json_body, headers, read_timeout) -> ApiResponse:
        cfg = self.config
        session = await shared_session()
        try:
            async with session.request(
                method,
                cfg.url(path),
                params=None if params is None else encode_params(params),
                data=None if json_body is None else _async_body(json_body),
                headers=cfg.headers(headers, json_body is not None),
                timeout=cfg.aiohttp_timeout(read_timeout),
            ) as resp:
                raw = await resp.read()
                status = resp.status
                resp_headers = resp.headers
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise cfg.network_error(method, path, exc, sent=False) from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise cfg.network_error(method, path, exc, sent=True) from None
        if status >= 400:
            raise cfg.http_error(method, path, status, raw.decode("utf-8", errors="replace"), resp_headers)
        return cfg.decode(method, path, status, raw, resp_headers)


def encode_params(params: Mapping[str, Any] | list[tuple[str, Any]] | None) -> list[tuple[str, str]] | None:
    """Turn query parameters into string pairs; ``None`` values are dropped, booleans lowercased."""
    if params is None:
        return None
    items = params.items() if isinstance(params, Mapping) else params
    return [(k, _param_str(v)) for k, v in items if v is not None]


def _param_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
