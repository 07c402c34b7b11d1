"""Listing inference.sh tasks: filters, search, sort and cursors (``specs/inference_sh.md`` §3.5)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from airflow_provider_runs.testing.emulator.inference_sh.emulator import InferenceShEmulator
from airflow_provider_runs.testing.emulator.inference_sh.errors import ApiError
from airflow_provider_runs.testing.emulator.inference_sh.store import CURRENT_CODES, NAMES_BY_CURRENT, Task

FILTER_OPERATORS = ("eq", "in", "not_in", "like")
FILTER_FIELDS = ("status", "app_id", "app", "id", "session_id", "function")
SORT_FIELDS = ("created_at", "updated_at", "id", "status")
LIST_CAP = 10_000  # §3.5: ``limit`` -1 = everything matching, capped at 10 000


def list_tasks(emu: InferenceShEmulator, body: dict[str, Any]) -> dict[str, Any]:
    """A page of tasks: the body's filters, search, sort, limit and cursor (spec §3.5)."""
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or (limit < 1 and limit != -1):
        raise ApiError(400, "invalid_request", "limit must be a positive integer or -1")
    if limit > LIST_CAP:
        raise ApiError(400, "invalid_request", f"limit must be at most {LIST_CAP} (or -1)")
    filters = body.get("filters") or []
    if not isinstance(filters, list):
        raise ApiError(400, "invalid_filter", "filters must be an array")
    for flt in filters:
        _check_filter(flt)
    by_id = next((f for f in filters if f.get("field") == "id" and f.get("operator") in ("eq", "in")), None)
    if by_id is not None:  # a batched status read: look the ids up instead of scanning every task
        wanted = by_id["value"] if isinstance(by_id["value"], list) else [by_id["value"]]
        items = [t for i in dict.fromkeys(map(str, wanted)) if (t := emu.tasks.get(i)) and not t.deleted]
        emu.count("ids_listed", len(wanted))
    else:
        items = [t for t in emu.tasks.values() if not t.deleted]
    now = emu.now
    for flt in filters:
        items = [t for t in items if _matches(emu, t, flt, now)]
    search = body.get("search")
    if search:
        term = str(search.get("term", "")).lower() if isinstance(search, dict) else ""
        items = [t for t in items if term in json.dumps(t.input).lower() or term in t.id.lower()]
    sorts = body.get("sort") or [{"field": "created_at", "dir": "desc"}]
    if not isinstance(sorts, list):
        raise ApiError(400, "invalid_request", "sort must be an array of {field, dir}")
    for spec in reversed(sorts):
        if not isinstance(spec, dict) or spec.get("field") not in SORT_FIELDS:
            raise ApiError(400, "invalid_request", f"cannot sort by {spec!r}")
        items.sort(key=_sort_key(spec["field"]), reverse=spec.get("dir", "asc") == "desc")
    total = len(items)
    if limit == -1:
        page = items[:LIST_CAP]
        return _page(emu, page, None, None, total, len(page))
    offset = _decode_cursor(body.get("cursor"))
    page = items[offset : offset + limit]
    next_cursor = _encode_cursor(offset + limit) if offset + limit < total else None
    prev_cursor = _encode_cursor(max(0, offset - limit)) if offset > 0 else None
    return _page(emu, page, next_cursor, prev_cursor, total, limit)


def _sort_key(field: str) -> Callable[[Task], tuple[Any, ...]]:
    """How tasks sort by ``field`` (both times sort by creation, then id)."""
    if field in ("created_at", "updated_at"):
        return lambda task: (task.created_at, task.id)
    return lambda task: (str(getattr(task, field, "")),)


def _page(
    emu: InferenceShEmulator,
    page: list[Task],
    next_cursor: str | None,
    prev_cursor: str | None,
    total: int,
    per_page: int,
) -> dict[str, Any]:
    return {
        "items": [emu.task_dto(t) for t in page],
        "next_cursor": next_cursor,
        "prev_cursor": prev_cursor,
        "has_next": next_cursor is not None,
        "has_previous": prev_cursor is not None,
        "items_per_page": per_page,
        "total_items": total,
    }


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
        return int(text.split(":", 1)[1])
    except (ValueError, IndexError):
        raise ApiError(400, "invalid_request", "invalid cursor") from None


def _check_filter(flt: Any) -> None:
    """400 ``invalid_filter`` unless ``flt`` is ``{field, operator, value}`` the list can apply."""
    if not isinstance(flt, dict) or not isinstance(flt.get("field"), str):
        raise ApiError(400, "invalid_filter", "filters must be objects with field, operator, value")
    field, op, value = flt["field"], flt.get("operator", "eq"), flt.get("value")
    if not isinstance(op, str) or op not in FILTER_OPERATORS:
        raise ApiError(400, "invalid_filter", f"unknown operator {op!r}")
    if field not in FILTER_FIELDS:
        raise ApiError(400, "invalid_filter", f"cannot filter on {field!r}")
    if op in ("in", "not_in") and not isinstance(value, list):
        raise ApiError(400, "invalid_filter", f"{op} needs an array value")
    if field == "status":
        if op == "like":
            raise ApiError(400, "invalid_filter", "status supports eq, in, not_in")
        for v in value if isinstance(value, list) else [value]:
            _status_name(v)


def _matches(emu: InferenceShEmulator, task: Task, flt: Any, now: float) -> bool:
    field, op, value = flt["field"], flt.get("operator", "eq"), flt.get("value")
    if field == "status":
        actual = task.status_at(now)[0]
        values = value if isinstance(value, list) else [value]
        names = {_status_name(v) for v in values}
        if op in ("eq", "in"):
            return actual in names
        if op == "not_in":
            return actual not in names
        raise ApiError(400, "invalid_filter", "status supports eq, in, not_in")
    actual = {
        "app_id": task.app.app_id,
        "app": task.app.ref,
        "id": task.id,
        "session_id": task.session_id,
        "function": task.function,
    }.get(field)
    if op == "eq":
        return actual == value
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    pattern = re.escape(str(value)).replace("%", ".*").replace("_", ".")
    return re.fullmatch(pattern.replace("\\%", ".*"), str(actual or "")) is not None


def _status_name(value: Any) -> str:
    if isinstance(value, str) and not value.isdigit():
        if value not in CURRENT_CODES:
            raise ApiError(400, "invalid_filter", f"unknown status {value!r}")
        return value
    try:
        return NAMES_BY_CURRENT[int(value)]
    except (KeyError, ValueError, TypeError):
        raise ApiError(400, "invalid_filter", f"unknown status {value!r}") from None
