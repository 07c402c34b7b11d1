"""An OpenAPI 3.1 description of the emulator's service endpoints, written from the specs.

The handlers parse their bodies themselves (to answer each service's own error bodies), so
FastAPI's generated schema knows no request bodies or query parameters. This document does: it
is served at ``GET /_emulator/openapi.json`` and drives the schemathesis fuzz
(``tests/emulator/test_openapi_fuzz.py``), which checks that the emulator answers bad input with
a 4xx, never a 500. Paths are relative to the emulator's root (the service prefixes included).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_runs.testing.emulator.connections import DEFAULT_CLUSTER

JSON = "application/json"
ID = {"type": "string", "minLength": 1, "maxLength": 40}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


def _path(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "schema": ID} for n in names]


def _query(**schemas: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": False, "schema": s} for n, s in schemas.items()]


def _op(
    summary: str,
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {"default": {"description": "any"}}}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = _body(body)
    return operation


INFERENCE_SH_RUN = {
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
INFERABLE_RUN = {
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
EDGES_INPUT = {
    "type": "object",
    "properties": {
        "linkedin_profile_url": {"type": "string", "examples": ["https://www.linkedin.com/in/jdoe"]},
        "custom_data": {"type": "object"},
    },
}
EDGES_COMMON = {
    "parameters": {"type": "object"},
    "identity_mode": {"enum": ["direct", "auto", "managed"]},
    "identity_ids": {"type": ["array", "null"], "items": {"type": "string", "format": "uuid"}},
    "callback": {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string"},
            "headers": {"type": "object"},
            "on": {"enum": ["all", "final"]},
        },
    },
    "name": {"type": "string"},
}
EDGES_ASYNC = {
    "type": "object",
    "required": ["inputs", "callback"],  # callback: documented as required (spec §2.2, §8 #2)
    "properties": {
        "inputs": {"type": "array", "items": EDGES_INPUT, "minItems": 1, "maxItems": 20},
        **EDGES_COMMON,
    },
}
EDGES_LIVE = {"type": "object", "required": ["input"], "properties": {"input": EDGES_INPUT, **EDGES_COMMON}}
EDGES_SCHEDULE = {
    "type": "object",
    "required": ["inputs", "callback"],
    "properties": {
        "inputs": {"type": "array", "items": EDGES_INPUT, "minItems": 1, "maxItems": 5},
        "cron": {"type": "string", "minLength": 1, "maxLength": 256},
        "timezone": {"type": "string", "minLength": 1, "maxLength": 64},
        "schedule_at": {"type": "string", "format": "date-time"},
        **EDGES_COMMON,
    },
}
EDGES_LIST = _query(
    limit={"type": "integer"},
    offset={"type": "integer"},
    status={"type": "array", "items": {"type": "string"}},
    sort={"type": "array", "items": {"type": "string"}},
)
STRINGS = {"type": "array", "items": {"type": "string"}}
EDGES_LIST_RUNS = _query(
    limit={"type": "integer", "minimum": 1, "maximum": 100},
    offset={"type": "integer", "minimum": 0},
    status=STRINGS,
    sort=STRINGS,
    uid=STRINGS,
    **{"uid[]": STRINGS, "status[]": STRINGS},
    action_name=STRINGS,
    execution_mode={"type": "array", "items": {"enum": ["LIVE", "ASYNC"]}},
    user_uid=STRINGS,
)
INFERENCE_SH_FILTER = {
    "type": "object",
    "required": ["field", "operator", "value"],
    "properties": {
        "field": {"enum": ["id", "status", "app", "app_id", "session_id", "function"]},
        "operator": {"enum": ["eq", "in", "not_in", "like"]},
        "value": {},
    },
    "examples": [{"field": "id", "operator": "in", "value": ["task_1", "task_2"]}],
}
INFERENCE_SH_LIST = {
    "type": "object",
    "properties": {
        "limit": {"type": "integer", "minimum": -1, "maximum": 10_000},
        "cursor": {"type": "string"},
        "direction": {"type": "string"},
        "filters": {"type": "array", "items": INFERENCE_SH_FILTER},
        "sort": {"type": "array", "items": {"type": "object"}},
        "search": {"type": "object"},
    },
}
SLUG = [{"name": "slug", "in": "path", "required": True, "schema": {"enum": ["linkedin-extract-people"]}}]
CLUSTER = [{"name": "cluster", "in": "path", "required": True, "schema": {"enum": [DEFAULT_CLUSTER]}}]


def openapi_document() -> dict[str, Any]:
    """The document (a fresh dict each call)."""
    paths: dict[str, dict[str, Any]] = {
        "/inference-sh/run": {"post": _op("inference.sh: run a task", body=INFERENCE_SH_RUN)},
        "/inference-sh/apps/run": {
            "post": _op("inference.sh: run a task (SDK route)", body=INFERENCE_SH_RUN)
        },
        "/inference-sh/tasks/list": {"post": _op("inference.sh: list tasks", body=INFERENCE_SH_LIST)},
        "/inference-sh/tasks": {
            "get": _op(
                "inference.sh: list tasks (query form; filters, sort and search JSON-encoded)",
                parameters=_query(
                    limit={"type": "integer"},
                    cursor={"type": "string"},
                    filters={"type": "string", "examples": ['[{"field":"id","operator":"eq","value":"x"}]']},
                ),
            )
        },
        "/inference-sh/tasks/{task_id}": {
            "get": _op("inference.sh: get a task", parameters=_path("task_id"))
        },
        "/inference-sh/tasks/{task_id}/status": {
            "get": _op("inference.sh: task status", parameters=_path("task_id"))
        },
        "/inference-sh/tasks/{task_id}/cancel": {
            "post": _op("inference.sh: cancel", parameters=_path("task_id"))
        },
        "/inference-sh/sessions/{session_id}": {
            "get": _op("inference.sh: get a session", parameters=_path("session_id"))
        },
        "/inferable/clusters/{cluster}/runs": {
            "post": _op("Inferable: create a run", parameters=CLUSTER, body=INFERABLE_RUN),
            "get": _op(
                "Inferable: list runs",
                parameters=CLUSTER + _query(limit={"type": "integer"}, status={"type": "string"}),
            ),
        },
        "/inferable/clusters/{cluster}/runs/{run}": {
            "get": _op("Inferable: get a run", parameters=CLUSTER + _path("run"))
        },
        "/inferable/clusters/{cluster}/runs/{run}/messages": {
            "post": _op(
                "Inferable: add a message",
                parameters=CLUSTER + _path("run"),
                body={
                    "type": "object",
                    "properties": {"message": {"type": "string"}, "type": {"type": "string"}},
                },
            )
        },
        "/inferable/clusters/{cluster}/jobs/{job}/approval": {
            "post": _op(
                "Inferable: answer an approval",
                parameters=CLUSTER + _path("job"),
                body={"type": "object", "properties": {"approved": {"type": "boolean"}}},
            )
        },
        "/edges/v1/actions/{slug}/run/live": {
            "post": _op("Edges: live run", parameters=SLUG, body=EDGES_LIVE)
        },
        "/edges/v1/actions/{slug}/run/async": {
            "post": _op("Edges: async run", parameters=SLUG, body=EDGES_ASYNC)
        },
        "/edges/v1/actions/{slug}/run/schedule": {
            "post": _op("Edges: schedule", parameters=SLUG, body=EDGES_SCHEDULE)
        },
        "/edges/v1/runs": {"get": _op("Edges: list runs", parameters=EDGES_LIST_RUNS)},
        "/edges/v1/runs/{uid}/status": {"get": _op("Edges: run status", parameters=_path("uid"))},
        "/edges/v1/runs/{uid}": {"get": _op("Edges: get a run", parameters=_path("uid"))},
        "/edges/v1/runs/{uid}/outputs": {
            "get": _op(
                "Edges: run outputs",
                parameters=_path("uid") + _query(limit={"type": "integer"}, cursor={"type": "string"}),
            )
        },
        "/edges/v1/runs/{uid}/inputs": {
            "get": _op("Edges: run inputs", parameters=_path("uid") + EDGES_LIST)
        },
        "/edges/v1/runs/{uid}/resume": {"post": _op("Edges: resume", parameters=_path("uid"))},
        "/edges/v1/schedules": {"get": _op("Edges: list schedules", parameters=EDGES_LIST)},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "airflow-provider-runs emulator (service endpoints)", "version": "1"},
        "paths": paths,
    }
