"""HTTP transport shared by every hook: one sync and one async flavour with the same rules.

- Connect and read timeouts are always set, and every request has a total deadline
  (``total_timeout``, cut to the deadline of :func:`request_deadline` when one is set).
- Redirects are never followed (Edges' ``X-API-Key`` would go along: the HTTP libraries strip
  only ``Authorization``); a 3xx is a :class:`RedirectError`. An absolute URL handed back by the
  service (a next-page link) is followed only on the base URL's origin.
- No cookie is ever stored or sent (the async session is shared by every connection).
- Bodies are read in chunks and capped (``max_response_bytes``); small streamed request bodies
  are sent with a ``Content-Length``, only big ones chunked.
- Every attempt first takes a token from the connection's request budget (a
  :class:`~airflow_provider_runs.core.limiter.RequestLimiter`, one per connection in this process,
  shared by both flavours) within the request's deadline, and reports the response's status and
  headers to it (429s slow it down; ``Retry-After`` and an exhausted ``X-RateLimit-Remaining``
  pause it).
- Idempotent requests are retried on 429, 5xx, timeouts and resets with exponential backoff,
  full jitter and ``Retry-After`` (tenacity); with a limiter, 429s are retried once its pause
  allows and do not spend the attempt budget (bounded by time instead). Non-idempotent writes are
  retried only when the request provably never reached the service (connection refused) or was
  refused with 429; any other failure becomes :class:`AmbiguousWriteError` so the caller can look the resource
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
import contextlib
import contextvars
import http.cookiejar
import itertools
import json
import logging
import re
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import requests
import tenacity
import urllib3

from airflow_provider_runs.core.errors import (
    AmbiguousWriteError,
    MalformedResponseError,
    NotSentError,
    RateLimitedError,
    RedirectError,
    ResponseTooLargeError,
    RunsApiError,
    TransientError,
    UntrustedUrlError,
    error_class_for_status,
)
from airflow_provider_runs.core.limiter import BudgetWaitError, RequestLimiter, WaitTooLong
from airflow_provider_runs.core.redaction import Redactor
from airflow_provider_runs.core.retry import DEFAULT_RETRY, RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

DEFAULT_MAX_RETRY_AFTER = 600.0
"""Default of :attr:`TransportConfig.max_retry_after` (the wait between polls is cut there too)."""
USER_AGENT = "airflow-provider-runs/0.1"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
DEFAULT_TOTAL_TIMEOUT = 300.0
"""Seconds one request attempt may take from connecting to the last body byte. Above the
longest read timeout a call asks for (Edges' async launch: 300 s); a request asking for a longer
read timeout gets at least that."""
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
"""The largest body buffered (10 MiB): a page of 100 outputs is far below; more is an error."""
MAX_BUFFERED_BODY = 8 * 1024 * 1024
"""A :class:`StreamedJson` body up to this size (8 MiB, ~80,000 small inputs) is built in memory
and sent with a ``Content-Length`` (proxies may refuse chunked uploads with 411); a bigger one is
streamed chunked, so memory stays bounded."""
READ_CHUNK = 64 * 1024
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_COOKIES = http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
"""A cookie policy that accepts and returns no cookie: no state crosses requests or keys."""

_DEADLINE: contextvars.ContextVar[tuple[float, bool] | None] = contextvars.ContextVar(
    "runs_request_deadline", default=None
)
"""``(absolute UNIX deadline, enforced by the caller)`` for requests sent in this context."""


@contextlib.contextmanager
def request_deadline(deadline: float | None, *, enforced: bool = False) -> Iterator[None]:
    """Requests sent inside the block (sync or async) end by ``deadline`` (UNIX time).

    A request that would start after it is not sent (:class:`NotSentError`); one in flight is cut
    at it (:class:`TransientError`). Nested blocks keep the earlier deadline. ``None`` adds no bound.

    :param enforced: the caller itself cancels the work at the deadline (``asyncio.timeout``), so
        the async transport need not arm its own total timer when the deadline is the nearer bound.
    """
    if deadline is None:
        yield
        return
    outer = _DEADLINE.get()
    bound = (float(deadline), enforced) if outer is None or deadline < outer[0] else outer
    token = _DEADLINE.set(bound)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def call_with_deadline(deadline: float | None, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with every request it sends bounded by ``deadline`` (UNIX time)."""
    with request_deadline(deadline):
        return fn(*args, **kwargs)


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


def _small_or_stream(body: StreamedJson) -> bytes | Iterator[bytes]:
    """The whole body as bytes when it is at most :data:`MAX_BUFFERED_BODY` (sent with a
    ``Content-Length``), else an iterator over all its chunks (sent chunked)."""
    chunks = body.chunks()
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > MAX_BUFFERED_BODY:
            return itertools.chain(head, chunks)
    return b"".join(head)


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _sync_body(json_body: Any) -> Any:
    if json_body is None:
        return None
    if isinstance(json_body, StreamedJson):
        return _small_or_stream(json_body)
    return json.dumps(json_body)


def _async_body(json_body: Any) -> Any:
    if json_body is None:
        return None
    if isinstance(json_body, StreamedJson):
        body = _small_or_stream(json_body)
        return body if isinstance(body, bytes) else _aiter(body)
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
    :param total_timeout: seconds one attempt may take in all (connect, send, headers, body).
    :param max_response_bytes: the largest response body read into memory.
    :param max_retry_after: the longest ``Retry-After`` taken from the service, in seconds: a
        longer one (up to decades, or an HTTP date in 2100) is cut to this before anything waits.
        Also the longest pause the limiter takes from a header.
    :param limiter: the connection's request budget in this process (``None``: none); every
        attempt takes a token from it first and reports its response to it.
    """

    service: str
    base_url: str
    auth_headers: Mapping[str, str]
    secrets: tuple[str, ...] = ()
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    retry: RetryPolicy = DEFAULT_RETRY
    error_parser: ErrorParser = default_error_parser
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    limiter: RequestLimiter | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.redact = Redactor(self.secrets)
        self._plain_headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.auth_headers}
        self._timeouts: dict[tuple[float | None, bool], Any] = {}
        self._origin = _origin(self.base_url)

    def aiohttp_timeout(self, read_timeout: float | None, total: float | None = None) -> Any:
        """The ``aiohttp.ClientTimeout`` for a read timeout and a total bound (``None``: the
        caller bounds the request itself); cached for the transport's own total."""
        default_total = max(self.total_timeout, read_timeout or 0.0)
        if total is not None and total != default_total:  # cut to a deadline: not cached
            return aiohttp.ClientTimeout(
                total=total, sock_connect=self.connect_timeout, sock_read=read_timeout or self.read_timeout
            )
        key = (read_timeout, total is None)
        timeout = self._timeouts.get(key)
        if timeout is None:
            # sock_connect, not connect: ``connect`` also bounds the wait for a pooled connection,
            # which thousands of polling triggers legitimately queue for, and it arms a timer on
            # every request even when a pooled connection is reused.
            timeout = aiohttp.ClientTimeout(
                total=total, sock_connect=self.connect_timeout, sock_read=read_timeout or self.read_timeout
            )
            self._timeouts[key] = timeout
        return timeout

    def budget(self, method: str, path: str, read_timeout: float | None) -> tuple[float, bool]:
        """Seconds this attempt may take, and whether the caller enforces that bound itself.

        The transport's ``total_timeout`` (at least the asked read timeout), cut to the
        :func:`request_deadline` in force; past that deadline nothing is sent.
        """
        total = max(self.total_timeout, read_timeout or 0.0)
        bound = _DEADLINE.get()
        if bound is None:
            return total, False
        remaining = bound[0] - time.time()
        if remaining <= 0:
            raise NotSentError(
                f"{self.service} API call not sent: the wait's deadline has passed",
                service=self.service,
                method=method,
                path=_path_only(path),
            )
        if remaining < total:
            return remaining, bound[1]
        return total, False

    def limiter_wait_cap(self) -> float:
        """The longest an attempt waits for the limiter: the retry policy's ``max_retry_after``
        (the longest wait one call accepts), cut to the :func:`request_deadline` in force."""
        cap = self.retry.max_retry_after
        remaining = _deadline_remaining()
        if remaining is not None and remaining < cap:
            cap = max(0.0, remaining)
        return cap

    def budget_error(self, method: str, path: str, wait: float) -> RunsApiError:
        """Build the error for a request the limiter cannot let out in time (nothing was sent)."""
        rpm = self.limiter.requests_per_minute if self.limiter is not None else 0.0
        budget = f"requests_per_minute={rpm:g}" if rpm else "no requests_per_minute"
        return BudgetWaitError(
            f"{self.service} API call not sent: the connection's request budget ({budget}; paused by "
            f"the service or spent) has no room for it for {wait:.1f}s, beyond the wait's deadline "
            "or the longest wait of one call",
            service=self.service,
            method=method,
            path=_path_only(path),
            retry_after=min(wait, self.max_retry_after),
        )

    def __repr__(self) -> str:  # never show headers
        return f"TransportConfig(service={self.service!r}, base_url={self.base_url!r})"

    def url(self, path: str) -> str:
        """Join ``path`` to the base URL; an absolute URL (a next-page link the service handed
        back) is returned unchanged only when it is on the base URL's origin (scheme, host, port):
        anywhere else the key would go along, so :class:`UntrustedUrlError` is raised instead."""
        if "://" in path and _ABSOLUTE.match(path):
            origin = _origin(path)
            if origin is None or origin != self._origin or urlsplit(path).username is not None:
                raise UntrustedUrlError(
                    self.redact(
                        f"{self.service} API handed back a URL outside the connection's origin "
                        f"({_safe_url(path)}; expected {_safe_url(self.base_url)}): not followed, "
                        "the API key would go along"
                    ),
                    service=self.service,
                )
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
        """Build the error for a non-2xx response.

        The body is redacted before any parser cuts an excerpt from it: cutting first could
        leave the start of a key that straddles the cut.
        """
        text = self.redact(text)
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        remote_message, code = self.error_parser(status, body, text)
        cls = error_class_for_status(status)
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None:
            retry_after = min(retry_after, self.max_retry_after)
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
                remote_message=self.redact.excerpt(text, 200),
            ) from exc
        return ApiResponse(status, headers, body)

    def redirect_error(self, method: str, path: str, status: int, location: str | None) -> RunsApiError:
        """Build the error for a 3xx answer (never followed)."""
        where = _safe_url(location) if location else "no Location"
        return RedirectError(
            self.redact(
                f"{self.service} API answered HTTP {status} redirecting to {where}; redirects are not "
                "followed (the API key would go along): point the connection at the final URL"
            ),
            service=self.service,
            method=method,
            path=_path_only(path),
            status_code=status,
        )

    def too_large_error(self, method: str, path: str, status: int) -> RunsApiError:
        """Build the error for a body larger than ``max_response_bytes``."""
        return ResponseTooLargeError(
            self.redact(
                f"{self.service} API answered HTTP {status} with a body larger than "
                f"{self.max_response_bytes} bytes (max_response_bytes: raise it with the hook's "
                "max_response_bytes argument or the connection extra 'max_response_bytes')"
            ),
            service=self.service,
            method=method,
            path=_path_only(path),
            status_code=status,
        )

    def deadline_error(self, method: str, path: str, budget: float) -> RunsApiError:
        """Build the error for an attempt cut at its total deadline."""
        return TransientError(
            f"{self.service} API call did not complete within {budget:.1f}s "
            "(total_timeout, or the wait's deadline)",
            service=self.service,
            method=method,
            path=_path_only(path),
        )


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """``(scheme, host, port)`` of an http(s) URL, default ports filled in; ``None`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme]


def _safe_url(url: str) -> str:
    """A URL to quote in an error: no user info, no query string or fragment (either may hold a
    token); the caller still redacts."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    text = f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else parts.path
    return text + ("?..." if parts.query else "")


def _path_only(path: str) -> str:
    if path.startswith(("http://", "https://")):
        path = "/" + path.split("/", 3)[-1] if path.count("/") >= 3 else "/"
    return path.split("?", 1)[0]


def _deadline_remaining() -> float | None:
    bound = _DEADLINE.get()
    return None if bound is None else bound[0] - time.time()


def _should_retry(exc: BaseException, idempotent: bool, policy: RetryPolicy) -> bool:
    if not isinstance(exc, RunsApiError) or not exc.retryable or isinstance(exc, BudgetWaitError):
        return False  # the limiter already found no room before the deadline: no busy retry
    remaining = _deadline_remaining()
    if remaining is not None and remaining <= 0:
        return False
    if exc.retry_after is not None and exc.retry_after > policy.max_retry_after:
        return False
    if idempotent:
        return True
    return isinstance(exc, RateLimitedError | NotSentError)


RATE_LIMITED_MAX_ATTEMPTS = 20
"""With a limiter: the most 429s one call rides out (they do not spend ``max_attempts``; the retry
policy's ``max_retry_after`` bounds their total time, and the call's deadline still applies)."""


def _retrying_kwargs(
    policy: RetryPolicy, idempotent: bool, describe: str, limited: bool = False
) -> dict[str, Any]:
    """tenacity settings of one call. ``limited``: the transport has a limiter, so a 429 is
    backpressure: retried once the limiter lets the next attempt out (its pause honours the
    ``Retry-After``; without one, a jittered backoff), not counted against ``max_attempts``."""
    counts = {"limited": 0, "other": 0}
    started = time.monotonic()

    def should_retry(exc: BaseException) -> bool:
        if limited and isinstance(exc, RateLimitedError):
            counts["limited"] += 1
        else:
            counts["other"] += 1
        return _should_retry(exc, idempotent, policy)

    def stop(state: tenacity.RetryCallState) -> bool:
        if not limited:
            return state.attempt_number >= policy.max_attempts
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitedError):
            return (
                counts["limited"] >= RATE_LIMITED_MAX_ATTEMPTS
                or time.monotonic() - started >= policy.max_retry_after
            )
        return counts["other"] >= policy.max_attempts

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if limited and isinstance(exc, RateLimitedError):
            # the limiter (paused by the Retry-After, slowed by the 429) spaces the next attempt;
            # a backoff never outlasts the call's patience with 429s (max_retry_after)
            seconds = 0.0 if retry_after is not None else policy.backoff(counts["limited"])
            seconds = min(seconds, max(0.0, policy.max_retry_after - (time.monotonic() - started)))
        else:
            seconds = policy.backoff(counts["other"] if limited else state.attempt_number, retry_after)
        remaining = _deadline_remaining()
        return seconds if remaining is None else max(0.0, min(seconds, remaining))

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if limited and isinstance(exc, RateLimitedError):
            log.info(
                "%s was rate-limited (%d in this call), retrying when the request budget allows "
                "(backoff %.1fs): %s",
                describe,
                counts["limited"],
                state.upcoming_sleep,
                exc,
            )
            return
        log.warning(
            "%s failed (attempt %d of %d), retrying in %.1fs: %s",
            describe,
            counts["other"] if limited else state.attempt_number,
            policy.max_attempts,
            state.upcoming_sleep,
            exc,
        )

    return {
        "stop": stop,
        "wait": wait,
        "retry": tenacity.retry_if_exception(should_retry),
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
        self.session.cookies.set_policy(_NO_COOKIES)  # never store nor send a cookie

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
            retrying = tenacity.Retrying(
                **_retrying_kwargs(policy, idem, describe, self.config.limiter is not None)
            )
            return retrying(call)
        except RunsApiError as exc:
            raise _ambiguous(exc, idem) from exc.__cause__

    def _once(self, method, path, params, json_body, headers, read_timeout) -> ApiResponse:
        cfg = self.config
        url = cfg.url(path)  # an off-origin URL raises here, before anything is sent
        budget, _ = cfg.budget(method, path, read_timeout)
        limiter = cfg.limiter
        if limiter is not None:
            try:
                waited = limiter.acquire(cfg.limiter_wait_cap())
            except WaitTooLong as exc:
                raise cfg.budget_error(method, path, exc.wait) from None
            if waited:
                budget, _ = cfg.budget(method, path, read_timeout)
        end = time.monotonic() + budget
        read_t = min(read_timeout or cfg.read_timeout, budget)
        try:
            resp = self.session.request(
                method,
                url,
                params=encode_params(params),
                data=_sync_body(json_body),
                headers=cfg.headers(headers, json_body is not None),
                timeout=(min(cfg.connect_timeout, budget), read_t),
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.ConnectionError as exc:
            not_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or _is_connect_failure(exc)
            raise cfg.network_error(method, path, exc, sent=not not_sent) from None
        except requests.exceptions.RequestException as exc:
            sent = not isinstance(exc, requests.exceptions.ConnectTimeout)
            raise cfg.network_error(method, path, exc, sent=sent) from None
        status = resp.status_code
        if limiter is not None:
            limiter.observe(status, resp.headers, cfg.max_retry_after)
        done = False
        try:
            if 300 <= status < 400:
                raise cfg.redirect_error(method, path, status, resp.headers.get("Location"))
            try:
                raw = _read_sync(resp, cfg, method, path, end, budget, read_t, truncate=status >= 400)
            except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
                if time.monotonic() >= end:  # the read was cut by the tightened socket timeout
                    raise cfg.deadline_error(method, path, budget) from None
                raise cfg.network_error(method, path, exc, sent=True) from None
            done = True
        finally:
            if done:
                resp.raw.release_conn()  # read to the end: the connection goes back to the pool
            else:
                resp.close()  # a body left unread: drop the connection
        if status >= 400:
            raise cfg.http_error(method, path, status, raw.decode("utf-8", errors="replace"), resp.headers)
        return cfg.decode(method, path, status, raw, resp.headers)

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


def _read_sync(
    resp: requests.Response,
    cfg: TransportConfig,
    method: str,
    path: str,
    end: float,
    budget: float,
    read_timeout: float,
    *,
    truncate: bool,
) -> bytes:
    """Read a streamed body in chunks, at most ``cfg.max_response_bytes`` (beyond: an error, or
    with ``truncate`` the first bytes) and no later than ``end`` (monotonic): requests has no
    total timeout, so the deadline is checked between reads and each read waits no longer than
    what is left."""
    cap = cfg.max_response_bytes
    length = resp.headers.get("Content-Length", "")
    if not truncate and length.isdigit() and int(length) > cap:
        raise cfg.too_large_error(method, path, resp.status_code)
    raw = resp.raw
    read1 = getattr(raw, "read1", None)  # urllib3 2: returns what one socket read brought
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise cfg.deadline_error(method, path, budget)
        if sock is not None and remaining < read_timeout:
            with contextlib.suppress(OSError):
                sock.settimeout(remaining)
        chunk = read1(READ_CHUNK, decode_content=True) if read1 else raw.read(READ_CHUNK, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            if truncate:
                chunks.append(chunk[: len(chunk) - (size - cap)])
                return b"".join(chunks)
            raise cfg.too_large_error(method, path, resp.status_code)
        chunks.append(chunk)


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
            cookie_jar=aiohttp.DummyCookieJar(),  # shared by every connection: no cookie crosses keys
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
            retrying = tenacity.AsyncRetrying(
                **_retrying_kwargs(policy, idem, describe, self.config.limiter is not None)
            )
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
        url = cfg.url(path)  # an off-origin URL raises here, before anything is sent
        budget, enforced = cfg.budget(method, path, read_timeout)
        limiter = cfg.limiter
        if limiter is not None:
            cap = cfg.limiter_wait_cap()
            try:
                wait = limiter.reserve(cap)  # no coroutine, no timer when a token is there
                if wait > 0.0:
                    await limiter.await_turn(wait, cap)
                    budget, enforced = cfg.budget(method, path, read_timeout)
            except WaitTooLong as exc:
                raise cfg.budget_error(method, path, exc.wait) from None
        session = await shared_session()
        try:
            async with session.request(
                method,
                url,
                params=None if params is None else encode_params(params),
                data=None if json_body is None else _async_body(json_body),
                headers=cfg.headers(headers, json_body is not None),
                # the total deadline; no timer of ours when the caller cancels at it already
                timeout=cfg.aiohttp_timeout(read_timeout, None if enforced else budget),
                allow_redirects=False,
            ) as resp:
                status = resp.status
                resp_headers = resp.headers
                if limiter is not None:
                    limiter.observe(status, resp_headers, cfg.max_retry_after)
                if 300 <= status < 400:
                    raise cfg.redirect_error(method, path, status, resp_headers.get("Location"))
                raw = await _read_async(resp, cfg, method, path, truncate=status >= 400)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise cfg.network_error(method, path, exc, sent=False) from None
        except aiohttp.ServerTimeoutError as exc:
            raise cfg.network_error(method, path, exc, sent=True) from None
        except asyncio.TimeoutError:
            raise cfg.deadline_error(method, path, budget) from None
        except aiohttp.ClientError as exc:
            raise cfg.network_error(method, path, exc, sent=True) from None
        if status >= 400:
            raise cfg.http_error(method, path, status, raw.decode("utf-8", errors="replace"), resp_headers)
        return cfg.decode(method, path, status, raw, resp_headers)


async def _read_async(
    resp: aiohttp.ClientResponse, cfg: TransportConfig, method: str, path: str, *, truncate: bool
) -> bytes:
    """Read a body, at most ``cfg.max_response_bytes`` (beyond: an error, or with ``truncate``
    the first bytes). A plain body whose ``Content-Length`` is within the cap is read in one go
    (the common poll); anything else chunk by chunk."""
    cap = cfg.max_response_bytes
    length = resp.content_length
    if length is not None and "Content-Encoding" not in resp.headers:
        if length <= cap:
            return await resp.read()
        if not truncate:
            raise cfg.too_large_error(method, path, resp.status)
    chunks: list[bytes] = []
    size = 0
    while chunk := await resp.content.readany():
        size += len(chunk)
        if size > cap:
            if truncate:
                chunks.append(chunk[: len(chunk) - (size - cap)])
                break
            raise cfg.too_large_error(method, path, resp.status)
        chunks.append(chunk)
    return b"".join(chunks)


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
