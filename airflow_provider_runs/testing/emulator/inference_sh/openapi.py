"""The inference.sh endpoints in OpenAPI, written from ``specs/inference_sh.md`` (see :mod:`..openapi`)."""

from __future__ import annotations

from typing import Any

from airflow_provider_runs.testing.emulator.openapi import operation, path_params, query_params

RUN = {
    "type": "object",
    "required": ["app", "input"],
    "properties": {
        "app": {"type": "string", "examples": ["acme/echo@v1"]},
        "input": {"type": "object", "examples": [{"text": "hello"}]},
        "function": {"type": "string"},
        "setup": {"type": "object"},
        "infra": {"enum": ["cloud", "private", "private_first"]},
        "workers": {"type": "array", "items": {"type": "string"}},
        "webhook": {"type": "string"},
        "session": {"type": "string"},
        "session_timeout": {"type": "integer", "minimum": 1, "maximum": 3600},
        "run_at": {"type": "string", "format": "date-time"},
        "wait": {"type": "boolean"},
    },
}
FILTER = {
    "type": "object",
    "required": ["field", "operator", "value"],
    "properties": {
        "field": {"enum": ["id", "status", "app", "app_id", "session_id", "function"]},
        "operator": {"enum": ["eq", "in", "not_in", "like"]},
        "value": {},
    },
    "examples": [{"field": "id", "operator": "in", "value": ["task_1", "task_2"]}],
}
LIST = {
    "type": "object",
    "properties": {
        "limit": {"type": "integer", "minimum": -1, "maximum": 10_000},
        "cursor": {"type": "string"},
        "direction": {"type": "string"},
        "filters": {"type": "array", "items": FILTER},
        "sort": {"type": "array", "items": {"type": "object"}},
        "search": {"type": "object"},
    },
}


def openapi_paths() -> dict[str, dict[str, Any]]:
    """The path items, relative to the service's API root."""
    task = path_params("task_id")
    return {
        "/run": {"post": operation("inference.sh: run a task", body=RUN)},
        "/apps/run": {"post": operation("inference.sh: run a task (SDK route)", body=RUN)},
        "/tasks/list": {"post": operation("inference.sh: list tasks", body=LIST)},
        "/tasks": {
            "get": operation(
                "inference.sh: list tasks (query form; filters, sort and search JSON-encoded)",
                parameters=query_params(
                    limit={"type": "integer"},
                    cursor={"type": "string"},
                    filters={"type": "string", "examples": ['[{"field":"id","operator":"eq","value":"x"}]']},
                ),
            )
        },
        "/tasks/{task_id}": {"get": operation("inference.sh: get a task", parameters=task)},
        "/tasks/{task_id}/status": {"get": operation("inference.sh: task status", parameters=task)},
        "/tasks/{task_id}/cancel": {"post": operation("inference.sh: cancel", parameters=task)},
        "/sessions/{session_id}": {
            "get": operation("inference.sh: get a session", parameters=path_params("session_id"))
        },
    }
