"""The settings of one service connection, and the rules every attempt follows in both drivers:
the URL (only the base URL's origin), headers, the time budget, a token from the request budget,
the checks of a response, and the errors, all redacted."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_runs.core.errors import (
    MalformedResponseError,
    NotSentError,
    RedirectError,
    ResponseTooLargeError,
    RunsApiError,
    TransientError,
    UntrustedUrlError,
    error_class_for_status,
)
from airflow_provider_runs.core.http.deadline import current_deadline, deadline_remaining
from airflow_provider_runs.core.http.network import (
    aiohttp_ssl,
    check_proxy,
    environment_proxy,
    proxy_secrets,
    requests_verify,
    safe_proxy,
)
from airflow_provider_runs.core.http.request import ApiRequest, ApiResponse, ErrorParser, default_error_parser
from airflow_provider_runs.core.limiter import BudgetWaitError, RequestLimiter, WaitTooLong
from airflow_provider_runs.core.redaction import Redactor
from airflow_provider_runs.core.retry import DEFAULT_RETRY, RetryPolicy, parse_retry_after

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
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DEFAULT_PORTS = {"http": 80, "https": 443}


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
    :param proxy: the connection's HTTP proxy URL (``None``: the environment's, see
        :mod:`~airflow_provider_runs.core.http.network`); the one in force is :attr:`proxy_url`.
    :param verify: whether TLS certificates are checked.
    :param ca_bundle: a PEM file (or directory) of the CA certificates to trust instead of the
        default ones (``None``: the default trust).
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
    proxy: str | None = None
    verify: bool = True
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.proxy = check_proxy(self.proxy)
        self.proxy_url = self.proxy or environment_proxy(self.base_url)
        """The proxy every request goes through (``None``: straight to the service)."""
        self.proxy_secrets = proxy_secrets(self.proxy_url)
        """The proxy's password (as written and decoded): redacted like the API key."""
        self.redact = Redactor((*self.secrets, *self.proxy_secrets))
        self.requests_proxies = {"http": self.proxy_url, "https": self.proxy_url} if self.proxy_url else None
        """requests' ``proxies=`` (``None``: requests finds none in the environment either)."""
        self.requests_verify = requests_verify(self.verify, self.ca_bundle)
        """requests' ``verify=``."""
        self.ssl = aiohttp_ssl(self.verify, self.ca_bundle)
        """aiohttp's ``ssl=`` (a cached context per CA bundle)."""
        self._plain_headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.auth_headers}
        self._origin = _origin(self.base_url)

    def __repr__(self) -> str:  # never show headers nor the proxy's credentials
        proxy = f", proxy={safe_proxy(self.proxy_url)!r}" if self.proxy_url else ""
        return f"TransportConfig(service={self.service!r}, base_url={self.base_url!r}{proxy})"

    # -- before sending ---------------------------------------------------------------------
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

    def budget(self, method: str, path: str, read_timeout: float | None) -> tuple[float, bool]:
        """Seconds this attempt may take, and whether the caller enforces that bound itself.

        The transport's ``total_timeout`` (at least the asked read timeout), cut to the
        :func:`~airflow_provider_runs.core.http.request_deadline` in force; past that deadline
        nothing is sent (:class:`NotSentError`).
        """
        total = max(self.total_timeout, read_timeout or 0.0)
        bound = current_deadline()
        if bound is None:
            return total, False
        remaining = bound[0] - time.time()
        if remaining <= 0:
            raise self._error(NotSentError, "API call not sent: the wait's deadline has passed", method, path)
        if remaining < total:
            return remaining, bound[1]
        return total, False

    def limiter_wait_cap(self) -> float:
        """The longest an attempt waits for the limiter: the retry policy's ``max_retry_after``
        (the longest wait one call accepts), cut to the request deadline in force."""
        cap = self.retry.max_retry_after
        remaining = deadline_remaining()
        if remaining is not None and remaining < cap:
            cap = max(0.0, remaining)
        return cap

    def reserve(self, req: ApiRequest) -> float:
        """Take this attempt's token from the request budget; return the seconds to wait before
        sending (``0``: now, and always without a limiter). Raises the budget error (nothing sent)
        when the token comes later than :meth:`limiter_wait_cap` allows."""
        limiter = self.limiter
        if limiter is None:
            return 0.0
        try:
            return limiter.reserve(self.limiter_wait_cap())
        except WaitTooLong as exc:
            raise self.budget_error(req.method, req.path, exc.wait) from None

    # -- after the response's head, and its body ----------------------------------------------
    def check_head(self, req: ApiRequest, status: int, headers: Mapping[str, str]) -> None:
        """Report a response to the request budget; refuse a redirect (:meth:`redirect_error`)."""
        if self.limiter is not None:
            self.limiter.observe(status, headers, self.max_retry_after)
        if 300 <= status < 400:
            raise self.redirect_error(req.method, req.path, status, headers.get("Location"))

    def answer(self, req: ApiRequest, status: int, raw: bytes, headers: Mapping[str, str]) -> ApiResponse:
        """The decoded 2xx response (:meth:`decode`), or the error of any other status."""
        if status >= 400:
            raise self.http_error(
                req.method, req.path, status, raw.decode("utf-8", errors="replace"), headers
            )
        return self.decode(req.method, req.path, status, raw, headers)

    def decode(
        self, method: str, path: str, status: int, text: str | bytes, headers: Mapping[str, str]
    ) -> ApiResponse:
        """Decode a 2xx body (text or raw bytes); an empty body is ``None``; malformed JSON is a
        transient error."""
        if not text.strip():
            return ApiResponse(status, headers, None)
        try:
            body = json.loads(text)
        except ValueError as exc:
            if isinstance(text, bytes):
                text = text.decode("utf-8", errors="replace")
            raise self._error(
                MalformedResponseError,
                f"API answered HTTP {status} with a body that is not JSON",
                method,
                path,
                status_code=status,
                remote_message=self.redact.excerpt(text, 200),
            ) from exc
        return ApiResponse(status, headers, body)

    # -- errors -------------------------------------------------------------------------------
    def _error(
        self, cls: type[RunsApiError], text: str, method: str, path: str, **facts: Any
    ) -> RunsApiError:
        """An error of ``cls`` saying ``"<service> <text>"`` (redacted) about the request."""
        return cls(
            self.redact(f"{self.service} {text}"),
            service=self.service,
            method=method,
            path=path_only(path),
            **facts,
        )

    def http_error(
        self, method: str, path: str, status: int, text: str, headers: Mapping[str, str]
    ) -> RunsApiError:
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
        retry_after = parse_retry_after(headers.get("Retry-After"))
        return self._error(
            error_class_for_status(status),
            f"API call failed with HTTP {status}",
            method,
            path,
            status_code=status,
            remote_message=self.redact(remote_message) if remote_message else None,
            code=code,
            retry_after=None if retry_after is None else min(retry_after, self.max_retry_after),
        )

    def network_error(self, method: str, path: str, exc: BaseException, *, sent: bool) -> RunsApiError:
        """Build the error for a failure without a response (timeout, reset, refused):
        :class:`NotSentError` when the request never left, else :class:`TransientError`."""
        text = f"API call failed without a response ({type(exc).__name__}: {exc})"
        return self._error(TransientError if sent else NotSentError, text, method, path)

    def redirect_error(self, method: str, path: str, status: int, location: str | None) -> RunsApiError:
        """Build the error for a 3xx answer (never followed)."""
        where = _safe_url(location) if location else "no Location"
        text = (
            f"API answered HTTP {status} redirecting to {where}; redirects are not followed "
            "(the API key would go along): point the connection at the final URL"
        )
        return self._error(RedirectError, text, method, path, status_code=status)

    def too_large_error(self, method: str, path: str, status: int) -> RunsApiError:
        """Build the error for a body larger than ``max_response_bytes``."""
        text = (
            f"API answered HTTP {status} with a body larger than {self.max_response_bytes} bytes "
            "(max_response_bytes: raise it with the hook's max_response_bytes argument or the "
            "connection extra 'max_response_bytes')"
        )
        return self._error(ResponseTooLargeError, text, method, path, status_code=status)

    def deadline_error(self, method: str, path: str, budget: float) -> RunsApiError:
        """Build the error for an attempt cut at its total deadline."""
        text = f"API call did not complete within {budget:.1f}s (total_timeout, or the wait's deadline)"
        return self._error(TransientError, text, method, path)

    def budget_error(self, method: str, path: str, wait: float) -> RunsApiError:
        """Build the error for a request the limiter cannot let out in time (nothing was sent)."""
        rpm = self.limiter.requests_per_minute if self.limiter is not None else 0.0
        budget = f"requests_per_minute={rpm:g}" if rpm else "no requests_per_minute"
        text = (
            f"API call not sent: the connection's request budget ({budget}; paused by the service or "
            f"spent) has no room for it for {wait:.1f}s, beyond the wait's deadline or the longest "
            "wait of one call"
        )
        return self._error(BudgetWaitError, text, method, path, retry_after=min(wait, self.max_retry_after))


def _origin(url: str) -> tuple[str, str, int] | None:
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


def path_only(path: str) -> str:
    """The path of a request for errors and logs: no scheme, host or query string."""
    if path.startswith(("http://", "https://")):
        path = "/" + path.split("/", 3)[-1] if path.count("/") >= 3 else "/"
    return path.split("?", 1)[0]
