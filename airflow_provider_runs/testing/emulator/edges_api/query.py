"""Edges query parameters: bounded integers, pages, repeated values and sorting (``specs/edges.md`` §1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.errors import EdgesError, bad_parameters
from airflow_provider_runs.testing.emulator.edges_api.store import Run
from airflow_provider_runs.testing.emulator.routing import int_param

OFFSETS = (0, 10**9, 0)
"""Bounds and default of ``offset``."""


def _not_int(name: str) -> EdgesError:
    return bad_parameters(f"querystring/{name} must be integer")


def _out_of_range(name: str, low: int, high: int) -> EdgesError:
    return bad_parameters(f"querystring/{name} must be >= {low} and <= {high}")


def int_arg(request: Request, name: str, bounds: Sequence[int]) -> int:
    """An integer query parameter within ``(low, high, default)`` (400 ``BAD_PARAMETERS``)."""
    return int_param(request, name, bounds, _not_int, _out_of_range)


def page_of(request: Request, limits: Sequence[int]) -> slice:
    """The rows ``limit`` and ``offset`` ask for (``limits``: the bounds and default of ``limit``)."""
    limit = int_arg(request, "limit", limits)
    offset = int_arg(request, "offset", OFFSETS)
    return slice(offset, offset + limit)


def values(request: Request, key: str) -> list[str]:
    """Every value of a repeated parameter, as ``key`` and as ``key[]``."""
    return request.query_params.getlist(key) + request.query_params.getlist(key + "[]")


def _sort_key(item: Any, field: str, now: float) -> Any:
    if field == "status":
        return item.status_at(now)[0] if isinstance(item, Run) else item.status
    if field == "updated_at" and isinstance(item, Run):
        return item.status_at(now)[1]
    return item.created_at


def sort_items(items: list[Any], sorts: list[str], now: float) -> list[Any]:
    """Sort runs or schedules by ``sort`` fields (``-`` first: descending), stably."""
    if len(sorts) > A.MAX_SORT_ITEMS:
        raise bad_parameters(f"querystring/sort must NOT have more than {A.MAX_SORT_ITEMS} items")
    for spec in reversed(sorts):
        field = spec.lstrip("-")
        if field not in A.SORT_FIELDS:
            raise bad_parameters(f"querystring/sort must be one of {', '.join(A.SORT_FIELDS)}")
        # stable, also in reverse: equal keys keep the order of the later sort fields (and of ids)
        items.sort(key=lambda x, f=field: _sort_key(x, f, now), reverse=spec.startswith("-"))  # type: ignore[misc]
    return items
