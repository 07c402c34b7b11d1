"""What every service's routes share: guarded endpoints, error answers, JSON bodies, query ints.

A service registers its endpoints through :class:`Endpoints`: each one runs the service's guard
(authentication, and metering against the route's rate-limit bucket) before its handler, and a
:class:`ServiceError` raised by either becomes the service's own error answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.ratelimit import Verdict

Handler = Callable[[Request], Awaitable[Response]]
"""An endpoint: the request in, the response out."""
Guard = Callable[[Request, str | None], Verdict | None]
"""Checks a request before its handler, given the route's ``kind`` (e.g. its rate-limit bucket):
raises a :class:`ServiceError` to refuse it; returns the metering verdict (``None``: unmetered)."""
Decorate = Callable[[Response, Verdict], None]
"""Adds the metering headers of a verdict to an answer."""
Render = Callable[[Request, "ServiceError"], Response]
"""Answers an error (default: :meth:`ServiceError.response`)."""


class ServiceError(Exception):
    """An error answer of a service (subclasses render their service's body).

    :param status: the HTTP status.
    :param message: what went wrong.
    :param headers: headers of the answer.
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}

    def response(self, request: Request) -> Response:
        """The answer (the service's error body)."""
        return JSONResponse({"detail": self.message}, status_code=self.status, headers=self.headers)


class Endpoints:
    """Registers a service's endpoints on its router, each behind the service's guard.

    :param router: the service's router.
    :param guard: what every guarded request goes through first.
    :param decorate: adds metering headers to every answer of a metered request.
    :param render: answers an error (default: the error's own :meth:`ServiceError.response`).
    """

    def __init__(
        self, router: APIRouter, guard: Guard, decorate: Decorate | None = None, render: Render | None = None
    ) -> None:
        self.router, self.guard, self.decorate = router, guard, decorate
        self.render: Render = render or (lambda request, err: err.response(request))

    def route(
        self, path: str, *methods: str, kind: str | None = None, guarded: bool = True
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler at ``path`` for ``methods``.

        :param kind: what the guard needs to know about the route (e.g. its rate-limit bucket).
        :param guarded: ``False``: no guard, no error translation (files, listings).
        """

        def register(func: Handler) -> Handler:
            endpoint = self.wrap(func, kind) if guarded else func
            self.router.add_api_route(path, endpoint, methods=list(methods))
            return func

        return register

    def wrap(self, func: Handler, kind: str | None) -> Handler:
        """``func`` behind the guard, with :class:`ServiceError` answered."""

        async def endpoint(request: Request) -> Response:
            verdict = None
            try:
                verdict = self.guard(request, kind)
                response = await func(request)
            except ServiceError as err:
                response = self.render(request, err)
            if verdict is not None and self.decorate is not None:
                self.decorate(response, verdict)
            return response

        endpoint.__name__ = func.__name__
        return endpoint

    def listing(self, path: str, title: str) -> None:
        """A ``GET path`` answering a bare OpenAPI document listing the router's paths."""
        router = self.router

        async def listing(request: Request) -> Response:
            paths = sorted({r.path[len(router.prefix) :] for r in router.routes if hasattr(r, "path")})
            document = {
                "openapi": "3.1.0",
                "info": {"title": title, "version": "1"},
                "paths": {p: {} for p in paths},
            }
            return JSONResponse(document)

        router.add_api_route(path, listing, methods=["GET"])


async def read_json(
    request: Request,
    invalid: Exception,
    *,
    empty: Exception | None = None,
    too_large: tuple[int, Exception] | None = None,
) -> Any:
    """The request's JSON body.

    :param invalid: raised when the body is not JSON.
    :param empty: raised when the body is empty (``None``: an empty body reads as ``{}``).
    :param too_large: ``(bytes, error)``: raised when the body is longer.
    """
    raw = await request.body()
    if too_large is not None and len(raw) > too_large[0]:
        raise too_large[1]
    if not raw.strip():
        if empty is not None:
            raise empty
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid from None


def int_param(
    request: Request,
    name: str,
    bounds: Sequence[int],
    not_int: Callable[[str], Exception],
    out_of_range: Callable[[str, int, int], Exception],
) -> int:
    """An integer query parameter.

    :param bounds: ``(lowest, highest, default)``.
    :param not_int: the error of a value that is no integer, given the name.
    :param out_of_range: the error of a value out of bounds, given the name and bounds.
    """
    low, high, default = bounds
    raw = request.query_params.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise not_int(name) from None
    if not low <= value <= high:
        raise out_of_range(name, low, high)
    return value


def own_url(request: Request) -> str:
    """The request's URL without its query (a base for pagination links)."""
    return f"{str(request.base_url).rstrip('/')}{request.url.path}"
