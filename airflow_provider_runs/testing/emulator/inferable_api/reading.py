"""How the Inferable routes read a request: JSON bodies and bounded query integers."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from airflow_provider_runs.testing.emulator.inferable_api.errors import (
    InferableError,
    issue,
    shape_a,
    shape_b,
)
from airflow_provider_runs.testing.emulator.routing import int_param, read_json

MAX_BODY = 1024 * 1024


async def json_body(request: Request) -> Any:
    """The JSON body: 413 past 1 MiB, 400 when empty with a JSON content type or not JSON."""
    empty = None
    if request.headers.get("content-type", "").startswith("application/json"):
        empty = shape_a(400, "Body cannot be empty when content-type is set to 'application/json'")
    too_large = (MAX_BODY, shape_a(413, "Request body is too large"))
    return await read_json(
        request, shape_a(400, "Unexpected token in JSON body"), empty=empty, too_large=too_large
    )


def _not_int(name: str) -> InferableError:
    return shape_b([issue([name], "Expected number, received nan")], "queryParameterErrors")


def _out_of_range(name: str, low: int, high: int) -> InferableError:
    return shape_b(
        [issue([name], f"Number must be between {low} and {high}", "too_big")], "queryParameterErrors"
    )


def int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter between ``low`` and ``high`` (a ZodError body otherwise)."""
    return int_param(request, name, (low, high, default), _not_int, _out_of_range)
