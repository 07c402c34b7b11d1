"""Inferable's request bodies checked before they are sent: run ids, result schemas, the
create-run body (``specs/inferable.md`` §2.1). Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_runs.hooks.inferable_states import RUN_STATES
from airflow_provider_runs.validation import check_json

RUN_ID_PATTERN = re.compile(r"^[0-9A-Za-z_.-]{4,128}$")
"""What Inferable accepts as a run ``id``."""
PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_]+$")
"""What Inferable accepts as a property name in a result schema."""
ON_STATUS_CHANGE_TYPES = ("webhook", "tool", "workflow", "function")
"""The kinds of ``onStatusChange`` notification."""


def idempotency_id(dag_id: str, task_id: str, run_id: str, map_index: int, generation: int = 1) -> str:
    """A run ``id`` unique to one task instance (never the try number), valid for Inferable.

    :param dag_id: the DAG's id.
    :param task_id: the task's id.
    :param run_id: the DAG run's id.
    :param map_index: the mapped task's index (``-1`` when not mapped).
    :param generation: moves on only when an earlier run of the task instance failed, so a
        retry reattaches to a live run and starts afresh after a failure.
    """
    digest = hashlib.sha256(json.dumps([dag_id, task_id, run_id, map_index]).encode()).hexdigest()[:24]
    readable = re.sub(r"[^0-9A-Za-z_.-]+", "-", f"{dag_id}.{task_id}")[:80].strip("-.") or "task"
    suffix = "" if map_index is None or map_index < 0 else f".m{map_index}"
    return f"af.{readable}{suffix}.{digest}.g{generation}"[-128:]


def check_result_schema(schema: Any, argument: str = "result_schema") -> None:
    """Check a JSON schema the way Inferable does at creation (object with properties, names).

    :param schema: the JSON schema.
    :param argument: the argument's name, used in the ``ValueError``.
    """
    if not isinstance(schema, Mapping):
        raise ValueError(f"{argument} must be a JSON schema object or a pydantic model class")
    if "type" in schema and schema["type"] != "object":
        raise ValueError(f"{argument} must describe an object (type 'object'); wrap arrays in a property")
    if not isinstance(schema.get("properties"), Mapping) or not schema["properties"]:
        raise ValueError(f"{argument} must have 'properties'")
    _check_property_names(schema, argument)
    from jsonschema import Draft202012Validator, SchemaError

    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        raise ValueError(f"{argument} is not a valid JSON schema: {exc.message}") from None


def _check_property_names(schema: Any, argument: str) -> None:
    """Refuse a property name Inferable refuses, at any depth of ``schema``."""
    if isinstance(schema, Mapping):
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            for name in properties:
                if not PROPERTY_NAME.match(str(name)):
                    raise ValueError(
                        f"{argument}: property name {name!r} is not allowed (letters, digits and _ only)"
                    )
        for value in schema.values():
            if isinstance(value, Mapping | list):
                _check_property_names(value, argument)
    elif isinstance(schema, list):
        for item in schema:
            _check_property_names(item, argument)


def build_run_body(
    *,
    initial_prompt: str,
    run_id: str | None = None,
    system_prompt: str | None = None,
    name: str | None = None,
    result_schema: Mapping[str, Any] | None = None,
    tools: Sequence[str] | None = None,
    on_status_change: Mapping[str, Any] | None = None,
    input: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    reasoning_traces: bool | None = None,
    interactive: bool | None = None,
    enable_result_grounding: bool | None = None,
) -> dict[str, Any]:
    """Validate and build the create-run body (``POST /clusters/{c}/runs``), naming the bad argument.

    :param initial_prompt: what the agent should do (required: without it Inferable stores the
        run but never starts it).
    :param run_id: the run ``id`` (an idempotency key: a reused id returns the existing run).
    :param system_prompt: the system prompt.
    :param name: a display name of the run.
    :param result_schema: the JSON schema of the structured result (:func:`check_result_schema`).
    :param tools: tool names the agent may use (non-empty when given).
    :param on_status_change: Inferable's status notification object.
    :param input: data appended to the prompt (a JSON object).
    :param context: data copied to every tool call of the run (a JSON object).
    :param reasoning_traces: ask the model for a reasoning string per tool call.
    :param interactive: allow follow-up messages.
    :param enable_result_grounding: ask the model to cite tool outputs.
    """
    if not isinstance(initial_prompt, str) or not initial_prompt.strip():
        raise ValueError(
            "initial_prompt must be a non-empty string (without it Inferable stores the run "
            "but never starts it)"
        )
    if run_id is not None and (not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id)):
        raise ValueError(f"run id {run_id!r} must match ^[0-9A-Za-z_.-]{{4,128}}$")
    if result_schema is not None:
        check_result_schema(result_schema)
    if tools is not None:
        _check_tools(tools)
    for arg, value in (("input", input), ("context", context), ("on_status_change", on_status_change)):
        if value is not None and not isinstance(value, Mapping):
            raise ValueError(f"{arg} must be a JSON object (a dict)")
        if value is not None:
            check_json(value, arg)
    if on_status_change is not None:
        check_on_status_change(on_status_change)
    for arg, text in (("system_prompt", system_prompt), ("name", name)):
        if text is not None and not isinstance(text, str):
            raise ValueError(f"{arg} must be a string")
    body: dict[str, Any] = {"initialPrompt": initial_prompt}
    optional = {
        "id": run_id,
        "systemPrompt": system_prompt,
        "name": name,
        "resultSchema": dict(result_schema) if result_schema is not None else None,
        "tools": list(tools) if tools is not None else None,
        "onStatusChange": dict(on_status_change) if on_status_change is not None else None,
        "input": dict(input) if input is not None else None,
        "context": dict(context) if context is not None else None,
        "reasoningTraces": reasoning_traces,
        "interactive": interactive,
        "enableResultGrounding": enable_result_grounding,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def _check_tools(tools: Any) -> None:
    """``tools`` must be a non-empty list of non-empty names."""
    if isinstance(tools, str) or not isinstance(tools, Sequence):
        raise ValueError("tools must be a list of tool names")
    if not tools:
        raise ValueError("tools cannot be an empty list (leave it out for a run without tools)")
    if not all(isinstance(t, str) and t for t in tools):
        raise ValueError("tools must be a list of non-empty tool names")


def check_on_status_change(value: Mapping[str, Any]) -> None:
    """Check an ``onStatusChange`` object: its ``type``, ``statuses`` and webhook URL.

    :param value: the object as the user gave it.
    """
    kind = value.get("type")
    statuses = value.get("statuses")
    if kind is not None:
        if kind not in ON_STATUS_CHANGE_TYPES:
            raise ValueError(f"on_status_change type must be one of {', '.join(ON_STATUS_CHANGE_TYPES)}")
        if not isinstance(statuses, list) or not statuses:
            raise ValueError("on_status_change needs a non-empty 'statuses' list when 'type' is given")
    if statuses is not None and (not isinstance(statuses, list) or set(statuses) - set(RUN_STATES)):
        raise ValueError(f"on_status_change statuses must be among {sorted(RUN_STATES)}")
    if kind == "webhook" and not re.match(r"^https?://.+$", str(value.get("webhook") or "")):
        raise ValueError("on_status_change webhook must be an http(s) URL")
