"""Inferable error answers: their exact bodies (``specs/inferable.md`` §6)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.routing import ServiceError


class InferableError(ServiceError):
    """An error answer with its exact body.

    :param status: the HTTP status.
    :param body: the body.
    """

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, str(body))
        self.body = body

    def response(self, request: Request | None = None) -> Response:
        """The answer."""
        return JSONResponse(self.body, status_code=self.status)


def shape_a(status: int, message: str, docs: str | None = None) -> InferableError:
    """``{"error": {"message", "docsLink"?}}``."""
    error: dict[str, Any] = {"message": message}
    if docs:
        error["docsLink"] = docs
    return InferableError(status, {"error": error})


def shape_b(issues: list[dict[str, Any]], where: str = "bodyErrors") -> InferableError:
    """The request-validation body (one ZodError per part)."""
    body: dict[str, Any] = {
        k: None for k in ("pathParameterErrors", "headerErrors", "queryParameterErrors", "bodyErrors")
    }
    body[where] = {"issues": issues, "name": "ZodError"}
    return InferableError(400, body)


def issue(path: list[Any], message: str, code: str = "invalid_type") -> dict[str, Any]:
    """One issue of a ZodError."""
    return {"code": code, "path": path, "message": message}
