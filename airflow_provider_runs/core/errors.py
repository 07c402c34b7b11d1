"""The error tree raised by hooks and transports.

Every error carries the service, the HTTP method and path, the status code and the remote
message, so that a task log shows what the service said. None of them ever carries the API
key, the Authorization header or a request body.
"""

from __future__ import annotations

from typing import Any


class RunsError(Exception):
    """Base class of every error raised by this provider."""


class RunsApiError(RunsError):
    """A call to a remote service failed.

    :param message: what went wrong, in one sentence.
    :param service: the service name (``inference_sh``, ``inferable``, ``edges``).
    :param method: the HTTP method of the failed call.
    :param path: the request path (without host or query string).
    :param status_code: the HTTP status code, or ``None`` when no response arrived.
    :param remote_message: the service's own error message, if it sent one.
    :param code: the service's machine-readable error code, if it sent one.
    :param run_url: a URL of the run concerned, when known.
    :param retry_after: seconds the service asked us to wait (429/503), if given.
    """

    retryable: bool = False
    """Whether repeating the same idempotent request may succeed."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        method: str = "",
        path: str = "",
        status_code: int | None = None,
        remote_message: str | None = None,
        code: str | None = None,
        run_url: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.service = service
        self.method = method
        self.path = path
        self.status_code = status_code
        self.remote_message = remote_message
        self.code = code
        self.run_url = run_url
        self.retry_after = retry_after
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.message]
        where = " ".join(p for p in (self.method, self.path) if p)
        facts = []
        if self.service:
            facts.append(f"service={self.service}")
        if where:
            facts.append(f"request={where}")
        if self.status_code is not None:
            facts.append(f"status={self.status_code}")
        if self.code:
            facts.append(f"code={self.code}")
        if facts:
            parts.append(f"({', '.join(facts)})")
        if self.remote_message and self.remote_message not in self.message:
            parts.append(f"- service said: {self.remote_message}")
        if self.run_url:
            parts.append(f"- run: {self.run_url}")
        return " ".join(parts)

    def with_run_url(self, run_url: str | None) -> RunsApiError:
        """Return the same error with ``run_url`` set (for errors raised before the URL was known)."""
        if run_url and not self.run_url:
            self.run_url = run_url
            self.args = (self._render(),)
        return self

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # keep errors picklable across processes
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[RunsApiError], message: str, state: dict[str, Any]) -> RunsApiError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err._render())
    return err


class BadRequestError(RunsApiError):
    """The service refused the request as invalid (400, 402, 412, 413, 422)."""


class AuthError(RunsApiError):
    """The API key is missing, wrong or lacks permission (401, 403)."""


class NotFoundError(RunsApiError):
    """The run or resource does not exist (404)."""


class ConflictError(RunsApiError):
    """The request conflicts with the resource's current state (409)."""


class GoneError(RunsApiError):
    """The resource existed but is gone: expired or ended (410)."""


class RateLimitedError(RunsApiError):
    """Too many requests (429); ``retry_after`` says how long to wait when the service said."""

    retryable = True


class TransientError(RunsApiError):
    """A failure worth retrying: 5xx, timeout, dropped connection, truncated body."""

    retryable = True


class NotSentError(TransientError):
    """The request never reached the service (connection refused, DNS, connect timeout).

    Safe to repeat even for non-idempotent writes.
    """


class AmbiguousWriteError(TransientError):
    """A non-idempotent write failed in a way that leaves unknown whether it landed.

    Callers must look the resource up before writing again.
    """


class MalformedResponseError(TransientError):
    """The service answered 2xx with a body that is not the JSON it promised."""


class RedirectError(TransientError):
    """The service answered with a redirect (3xx). Redirects are never followed: the API key
    would go along to wherever the ``Location`` points. Retried like any transient answer (a
    load balancer's 307 during a deploy); one that persists fails with the ``Location`` named
    (a base URL that moved is fixed in the connection)."""


class UntrustedUrlError(RunsApiError):
    """A URL handed back by the service (a next-page link) is not on the configured base URL's
    origin (scheme, host, port); nothing was sent to it."""


class ResponseTooLargeError(TransientError):
    """The response body is larger than the transport's ``max_response_bytes`` (read no further).
    Retried like a malformed answer (a proxy's error page); one that persists fails naming the
    cap and the setting."""


NON_RETRYABLE_BAD_REQUEST = frozenset({400, 413, 422})
"""Bad-request status codes that a retry of the same call cannot fix."""


def retry_cannot_fix(exc: BaseException) -> bool:
    """Whether a service error fails the same way on every retry: 401/403, and a 400/413/422."""
    if isinstance(exc, AuthError):
        return True
    return isinstance(exc, BadRequestError) and exc.status_code in NON_RETRYABLE_BAD_REQUEST


def error_class_for_status(status_code: int) -> type[RunsApiError]:
    """Pick the error class for an HTTP status code."""
    if status_code == 429:
        return RateLimitedError
    if status_code >= 500 or status_code == 408:
        return TransientError
    return {
        401: AuthError,
        403: AuthError,
        404: NotFoundError,
        409: ConflictError,
        410: GoneError,
    }.get(status_code, BadRequestError)
