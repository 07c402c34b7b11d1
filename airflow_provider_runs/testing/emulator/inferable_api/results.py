"""Results that satisfy (or deliberately break) a run's ``resultSchema``."""

from __future__ import annotations

from typing import Any


def example_for(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A small instance valid against ``schema`` (object/array/scalars, enum, $defs/$ref, anyOf)."""
    root = root if root is not None else schema
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return example_for(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
            return example_for((options or schema[key])[0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        return {
            name: example_for(sub, root, depth + 1) for name, sub in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example_for(schema.get("items") or {}, root, depth + 1) for _ in range(count)]
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
        return "x" * max(1, int(schema.get("minLength", 6)))
    return None


def invalid_for(schema: Any) -> Any:
    """A result that violates ``schema``: the first property gets a value of the wrong type."""
    valid = example_for(schema)
    if not isinstance(valid, dict) or not valid:
        return {"unexpected": True}
    first = next(iter(valid))
    valid[first] = {"wrong": "type"} if not isinstance(valid[first], dict) else "wrong type"
    return valid
