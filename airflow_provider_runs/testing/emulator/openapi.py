"""An OpenAPI 3.1 description of the emulator's service endpoints, written from the specs.

The handlers parse their bodies themselves (to answer each service's own error bodies), so
FastAPI's generated schema knows no request bodies or query parameters. This document does: it
is served at ``GET /_emulator/openapi.json`` and drives the schemathesis fuzz
(``tests/emulator/test_openapi_fuzz.py``), which checks that the emulator answers bad input with
a 4xx, never a 500. Each service writes its paths (``EmulatedService.openapi_paths``, relative to
its API root) with the helpers here; the document puts them below the emulator's root.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_runs.testing.emulator.service import EmulatedService

JSON = "application/json"
ID = {"type": "string", "minLength": 1, "maxLength": 40}


STRINGS = {"type": "array", "items": {"type": "string"}}


def path_params(*names: str) -> list[dict[str, Any]]:
    """Required path parameters: opaque ids."""
    return [{"name": n, "in": "path", "required": True, "schema": ID} for n in names]


def enum_path_param(name: str, *values: str) -> list[dict[str, Any]]:
    """A required path parameter that takes one of ``values``."""
    return [{"name": name, "in": "path", "required": True, "schema": {"enum": list(values)}}]


def query_params(**schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """Optional query parameters, by name."""
    return [{"name": n, "in": "query", "required": False, "schema": s} for n, s in schemas.items()]


def operation(
    summary: str,
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An operation: any answer documented, with its parameters and required JSON body."""
    op: dict[str, Any] = {"summary": summary, "responses": {"default": {"description": "any"}}}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    return op


def openapi_document(services: Sequence[EmulatedService]) -> dict[str, Any]:
    """The document of ``services`` (a fresh dict each call)."""
    paths: dict[str, dict[str, Any]] = {}
    for service in services:
        paths.update({service.api_root + path: item for path, item in service.openapi_paths().items()})
    return {
        "openapi": "3.1.0",
        "info": {"title": "airflow-provider-runs emulator (service endpoints)", "version": "1"},
        "paths": paths,
    }
