"""inference.sh error answers and the response envelopes (``specs/inference_sh.md``)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.routing import ServiceError

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
"""Problem titles by status."""


def problem(code: str, title: str, status: int, detail: str) -> dict[str, Any]:
    """A problem+json body."""
    return {
        "type": f"https://api.inference.sh/errors/{code}",
        "title": title,
        "status": status,
        "detail": detail,
    }


class ApiError(ServiceError):
    """An error answer: HTTP status, code and detail, in the request's envelope.

    :param status: the HTTP status.
    :param code: the error code (problem ``type`` suffix, v1 ``error.code``).
    :param detail: what went wrong.
    :param meta: the problem's ``meta``.
    :param body: an exact body instead (kept as is).
    :param headers: headers of the answer.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        meta: dict | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.code, self.detail, self.meta, self.body = code, detail, meta or {}, body


def fail(request: Request, envelope: str, err: ServiceError) -> Response:
    """An error answer: problem+json (current, v2) or the v1 error object; an exact body keeps
    its shape."""
    if not isinstance(err, ApiError):
        return err.response(request)
    if err.body is not None:
        return JSONResponse(err.body, status_code=err.status, headers=err.headers)
    if envelope == "v1" and not wants_v2(request, envelope):
        body = {"success": False, "status": err.status, "error": {"code": err.code, "message": err.detail}}
        return JSONResponse(body, status_code=err.status, headers=err.headers)
    body = problem(err.code, TITLES.get(err.status, "Error"), err.status, err.detail) | {"meta": err.meta}
    return JSONResponse(
        body, status_code=err.status, headers=err.headers, media_type="application/problem+json"
    )


def wants_v2(request: Request, envelope: str) -> bool:
    """Whether the answer is a bare v2 one (the header asks, or the envelope is ``v2``)."""
    return request.headers.get("x-api-version") == "2" or envelope == "v2"


def respond(request: Request, envelope: str, data: Any, status: int = 200) -> Response:
    """A success answer in the configured envelope."""
    if wants_v2(request, envelope):
        body = data
    elif envelope == "v1":
        body = {"success": True, "status": status, "data": data}
    else:
        body = {"data": data, "messages": []}
    return JSONResponse(body, status_code=status)
