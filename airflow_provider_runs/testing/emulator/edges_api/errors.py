"""The Edges error answer (``specs/edges.md`` §5)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.routing import ServiceError


class EdgesError(ServiceError):
    """An error answer in the standard Edges body.

    :param status: the HTTP status.
    :param label: ``error_label``.
    :param message: ``message``.
    :param scope: ``error_scope``.
    :param params: ``params``.
    :param headers: headers of the answer.
    """

    def __init__(
        self,
        status: int,
        label: str,
        message: str,
        scope: str = "input",
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, message, headers)
        self.label, self.scope, self.params = label, scope, params or {}

    def response(self, request: Request | None = None) -> Response:
        """The answer."""
        body = {
            "error_label": self.label,
            "error_scope": self.scope,
            "error_ref": f"ERR-{abs(hash(self.message)) % 10**8}",
            "message": self.message,
            "status_code": self.status,
            "params": self.params,
        }
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def bad_parameters(message: str) -> EdgesError:
    """A 400 ``BAD_PARAMETERS``."""
    return EdgesError(400, "BAD_PARAMETERS", message)


def bad_input(message: str) -> EdgesError:
    """A 400 ``BAD_INPUT``."""
    return EdgesError(400, "BAD_INPUT", message)


def not_found(message: str) -> EdgesError:
    """A 404 ``NOT_FOUND``."""
    return EdgesError(404, "NOT_FOUND", message)


def conflict(message: str) -> EdgesError:
    """A 409 ``CONFLICT``."""
    return EdgesError(409, "CONFLICT", message)
