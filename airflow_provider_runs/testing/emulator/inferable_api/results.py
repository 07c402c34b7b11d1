"""Results that satisfy (or deliberately break) a run's ``resultSchema``."""

from __future__ import annotations

import re
from typing import Any


def example_string(schema: dict[str, Any], name: str | None) -> str:
    """A string that reads as sample data, never as a redaction: ``example <name in words>``
    (``oldestTicketId``, ``oldest_ticket_id``: ``example oldest ticket id``), fitted to the
    schema's ``minLength``/``maxLength``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|[\W_]+", " ", name or "text").strip().lower() or "text"
    text = f"example {words}"
    low, high = int(schema.get("minLength", 1)), schema.get("maxLength")
    while len(text) < low:
        text += f" {words}"
    return text[: int(high)] if high is not None else text


def example_for(schema: Any, root: Any = None, depth: int = 0, name: str | None = None) -> Any:
    """A small instance valid against ``schema`` (object/array/scalars, enum, $defs/$ref, anyOf);
    ``name``: the property it is for (strings read as ``example <name>``)."""
    root = root if root is not None else schema
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return example_for(target, root, depth + 1, name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
            return example_for((options or schema[key])[0], root, depth + 1, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        return {
            key: example_for(sub, root, depth + 1, key)
            for key, sub in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example_for(schema.get("items") or {}, root, depth + 1, name) for _ in range(count)]
    if kind == "integer":
        return (
            max(int(schema.get("minimum", 0)), 7)
            if "maximum" not in schema
            else int(schema.get("minimum", 0))
        )
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if kind == "string":
        return example_string(schema, name)
    return None


def invalid_for(schema: Any) -> Any:
    """A result that violates ``schema``: the first property gets a value of the wrong type."""
    valid = example_for(schema)
    if not isinstance(valid, dict) or not valid:
        return {"unexpected": True}
    first = next(iter(valid))
    valid[first] = {"wrong": "type"} if not isinstance(valid[first], dict) else "wrong type"
    return valid
