"""The Edges endpoints in OpenAPI, written from ``specs/edges.md`` (see :mod:`..openapi`)."""

from __future__ import annotations

from typing import Any

from airflow_provider_runs.testing.emulator.openapi import (
    STRINGS,
    enum_path_param,
    operation,
    path_params,
    query_params,
)

INPUT = {
    "type": "object",
    "properties": {
        "linkedin_profile_url": {"type": "string", "examples": ["https://www.linkedin.com/in/jdoe"]},
        "custom_data": {"type": "object"},
    },
}
COMMON = {
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
ASYNC = {
    "type": "object",
    "required": ["inputs", "callback"],  # callback: documented as required (spec §2.2, §8 #2)
    "properties": {
        "inputs": {"type": "array", "items": INPUT, "minItems": 1, "maxItems": 20},
        **COMMON,
    },
}
LIVE = {"type": "object", "required": ["input"], "properties": {"input": INPUT, **COMMON}}
SCHEDULE = {
    "type": "object",
    "required": ["inputs", "callback"],
    "properties": {
        "inputs": {"type": "array", "items": INPUT, "minItems": 1, "maxItems": 5},
        "cron": {"type": "string", "minLength": 1, "maxLength": 256},
        "timezone": {"type": "string", "minLength": 1, "maxLength": 64},
        "schedule_at": {"type": "string", "format": "date-time"},
        **COMMON,
    },
}
LIST = query_params(limit={"type": "integer"}, offset={"type": "integer"}, status=STRINGS, sort=STRINGS)
LIST_RUNS = query_params(
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


def openapi_paths() -> dict[str, dict[str, Any]]:
    """The path items, relative to the service's API root."""
    slug = enum_path_param("slug", "linkedin-extract-people")
    uid = path_params("uid")
    return {
        "/actions/{slug}/run/live": {"post": operation("Edges: live run", parameters=slug, body=LIVE)},
        "/actions/{slug}/run/async": {"post": operation("Edges: async run", parameters=slug, body=ASYNC)},
        "/actions/{slug}/run/schedule": {
            "post": operation("Edges: schedule", parameters=slug, body=SCHEDULE)
        },
        "/runs": {"get": operation("Edges: list runs", parameters=LIST_RUNS)},
        "/runs/{uid}/status": {"get": operation("Edges: run status", parameters=uid)},
        "/runs/{uid}": {"get": operation("Edges: get a run", parameters=uid)},
        "/runs/{uid}/outputs": {
            "get": operation(
                "Edges: run outputs",
                parameters=uid + query_params(limit={"type": "integer"}, cursor={"type": "string"}),
            )
        },
        "/runs/{uid}/inputs": {"get": operation("Edges: run inputs", parameters=uid + LIST)},
        "/runs/{uid}/resume": {"post": operation("Edges: resume", parameters=uid)},
        "/runs/{uid}/continue": {"post": operation("Edges: continue", parameters=uid)},
        "/schedules": {"get": operation("Edges: list schedules", parameters=LIST)},
        "/schedules/{uid}": {"get": operation("Edges: get a schedule", parameters=uid)},
        "/schedules/{uid}/{verb}": {
            "post": operation(
                "Edges: pause, resume or cancel a schedule",
                parameters=uid + enum_path_param("verb", "pause", "resume", "cancel"),
            )
        },
    }
