"""The create-run checks of ``specs/inferable.md`` §2.1, with their error bodies."""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from airflow_provider_runs.testing.emulator.inferable_api.errors import InferableError, issue, shape_b

RUN_ID = re.compile(r"^[0-9A-Za-z_.-]{4,128}$")
PROPERTY = re.compile(r"^[A-Za-z0-9_]+$")
STATUSES = ("pending", "running", "paused", "done", "failed")
MODELS = (
    "claude-3-7-sonnet-20250219",
    "claude-3-7-sonnet-latest",
    "claude-3-5-sonnet-20241022",
    "claude-3-5-sonnet-latest",
    "claude-3-5-sonnet-20240620",
    "claude-3-5-haiku-20241022",
    "claude-3-5-haiku-latest",
)


def validate(body: Any, headers: Any) -> None:
    """The create-run checks of spec §2.1, with their body shapes."""
    if not isinstance(body, dict):
        raise shape_b([issue([], "Expected object, received " + type(body).__name__)])
    problems: list[dict[str, Any]] = []
    for key in ("id", "runId"):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or not RUN_ID.match(value)):
            problems.append(issue([key], "Invalid", "invalid_string"))
    for key in ("initialPrompt", "systemPrompt", "name"):
        if body.get(key) is not None and not isinstance(body[key], str):
            problems.append(issue([key], "Expected string, received " + type(body[key]).__name__))
    for key in ("input", "context"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            problems.append(issue([key], "Expected object"))
    for key in ("reasoningTraces", "interactive", "enableResultGrounding"):
        if body.get(key) is not None and not isinstance(body[key], bool):
            problems.append(issue([key], "Expected boolean"))
    tools = body.get("tools")
    if tools is not None and (not isinstance(tools, list) or not all(isinstance(t, str) for t in tools)):
        problems.append(issue(["tools"], "Expected array of strings"))
    osc = body.get("onStatusChange")
    if osc is not None:
        problems.extend(_check_on_status_change(osc))
    if problems:
        raise shape_b(problems)
    if tools is not None and not tools:
        raise InferableError(400, {"message": "tools cannot be an empty array"})
    if body.get("attachedFunctions") == []:
        raise InferableError(400, {"message": "attachedFunctions cannot be an empty array"})
    if "resultSchema" in body and body["resultSchema"] is not None:
        _check_schema(body["resultSchema"])
    key, model, url = (headers.get(h) for h in ("x-provider-key", "x-provider-model", "x-provider-url"))
    if key and model and model not in MODELS:
        raise shape_b(
            [issue(["x-provider-model"], "Invalid enum value", "invalid_enum_value")], "headerErrors"
        )
    if url and url != "https://api.anthropic.com":
        raise shape_b([issue(["x-provider-url"], "Invalid literal value", "invalid_literal")], "headerErrors")


def _check_on_status_change(osc: Any) -> list[dict[str, Any]]:
    if not isinstance(osc, dict):
        return [issue(["onStatusChange"], "Expected object")]
    kind = osc.get("type")
    statuses = osc.get("statuses")
    if kind is None:
        if "webhook" not in osc and "function" not in osc:
            return [issue(["onStatusChange"], "Invalid input", "invalid_union")]
        return []
    if kind not in ("webhook", "tool", "workflow", "function"):
        return [issue(["onStatusChange", "type"], "Invalid input", "invalid_union")]
    if not isinstance(statuses, list) or any(s not in STATUSES for s in statuses):
        return [issue(["onStatusChange", "statuses"], "Required", "invalid_type")]
    if kind == "webhook" and not re.match(r"^https?://.+$", str(osc.get("webhook") or "")):
        return [issue(["onStatusChange", "webhook"], "Invalid", "invalid_string")]
    return []


def _check_schema(schema: Any) -> None:
    if not isinstance(schema, dict):
        raise InferableError(400, {"message": "resultSchema must be an object"})
    errors: list[dict[str, Any]] = []
    if "type" in schema and schema["type"] != "object":
        errors.append({"path": "type", "error": "must be 'object'"})
    if not isinstance(schema.get("properties"), dict):
        errors.append({"path": "properties", "error": "is required"})

    def names(node: Any, path: str) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                for name in props:
                    if not PROPERTY.match(str(name)):
                        errors.append({"path": f"{path}.properties.{name}", "error": "invalid property name"})
            for key, value in node.items():
                names(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                names(item, f"{path}[{i}]")

    names(schema, "")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        errors.append({"path": "/".join(str(p) for p in exc.path), "error": exc.message})
    if errors:
        raise InferableError(400, {"message": "'resultSchema' is not a valid JSON Schema", "errors": errors})
