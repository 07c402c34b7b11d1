"""The Inferable endpoints in OpenAPI, written from ``specs/inferable.md`` (see :mod:`..openapi`)."""

from __future__ import annotations

from typing import Any

from airflow_provider_runs.testing.emulator.inferable_api.settings import DEFAULT_CLUSTER
from airflow_provider_runs.testing.emulator.openapi import (
    enum_path_param,
    operation,
    path_params,
    query_params,
)

RUN = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9A-Za-z_.-]{4,128}$"},
        "initialPrompt": {"type": "string"},
        "systemPrompt": {"type": "string"},
        "name": {"type": "string"},
        "resultSchema": {"type": "object"},
        "tools": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "onStatusChange": {"type": "object"},
        "input": {"type": "object"},
        "context": {"type": "object"},
        "reasoningTraces": {"type": "boolean"},
        "interactive": {"type": "boolean"},
        "enableResultGrounding": {"type": "boolean"},
    },
}
MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}, "type": {"type": "string"}}}
APPROVAL = {"type": "object", "properties": {"approved": {"type": "boolean"}}}


def openapi_paths() -> dict[str, dict[str, Any]]:
    """The path items, relative to the service's API root (the default cluster only)."""
    cluster = enum_path_param("cluster", DEFAULT_CLUSTER)
    run = cluster + path_params("run")
    listing = cluster + query_params(limit={"type": "integer"}, status={"type": "string"})
    return {
        "/clusters/{cluster}/runs": {
            "post": operation("Inferable: create a run", parameters=cluster, body=RUN),
            "get": operation("Inferable: list runs", parameters=listing),
        },
        "/clusters/{cluster}/runs/{run}": {"get": operation("Inferable: get a run", parameters=run)},
        "/clusters/{cluster}/runs/{run}/messages": {
            "post": operation("Inferable: add a message", parameters=run, body=MESSAGE)
        },
        "/clusters/{cluster}/jobs/{job}/approval": {
            "post": operation(
                "Inferable: answer an approval", parameters=cluster + path_params("job"), body=APPROVAL
            )
        },
    }
