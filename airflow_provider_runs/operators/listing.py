"""The base of the listing operators: a bounded list of a service's runs, as small dicts in XCom.

A listing operator pages through the service's run list newest first (each service's own
pagination), applies the API's filters, stops at ``limit`` rows or at the first run created
before ``created_after``, and returns a list of primitives for dynamic task mapping::

    listed = EdgesListRunsOperator(task_id="failed_runs", statuses=["FAILED"], ids_only=True)
    EdgesRunSensor.partial(task_id="watch").expand(run_id=listed.output)

Each row: ``{"run_id", "status" (the service's), "state" (normalized), "created_at", "url"}``
plus the service's own small fields; with ``ids_only`` only the run ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_runs.hooks.base import RunsHook
from airflow_provider_runs.validation import (
    check_path_segment,
    fail_without_retry,
    invalid_arguments,
    parse_datetime,
    service_time,
)

DEFAULT_LIMIT = 100
"""Rows a listing returns unless told (``limit``)."""
MAX_LIMIT = 1000
"""The most rows a listing returns: XCom holds them and each can become a mapped task."""


def as_list(value: Any, name: str) -> list[str]:
    """A string or a list of strings as a list (``None``: empty); anything else names ``name``."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise ValueError(f"{name} must be a string or a list of strings; got {value!r}"[:300])


class BaseListRunsOperator(BaseOperator):
    """List a service's runs, newest first, bounded; return small dicts (or ids) to XCom.

    :param limit: the most rows returned (default 100, at most the service's ``max_limit``).
    :param statuses: only runs with one of these statuses (the service's names). Templated.
    :param created_after: only runs created at or after this time (ISO 8601 string or
        datetime, e.g. ``"{{ data_interval_start }}"``). Templated.
    :param ids_only: return the run ids alone (``["id", ...]``), ready for ``.expand(run_id=...)``.
    """

    hook_class: ClassVar[type[RunsHook]]
    conn_id_field: ClassVar[str]
    max_limit: ClassVar[int] = MAX_LIMIT
    statuses_filtered_by_service: ClassVar[bool] = True
    """Whether the API filters by status itself (else rows are filtered here)."""
    ui_color = "#eef7ee"

    def __init__(
        self,
        *,
        limit: int = DEFAULT_LIMIT,
        statuses: str | Sequence[str] | None = None,
        created_after: str | datetime | None = None,
        ids_only: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= self.max_limit:
            raise ValueError(f"limit must be an integer from 1 to {self.max_limit}; got {limit!r}")
        self.limit = limit
        self.statuses = statuses
        self.created_after = created_after
        self.ids_only = ids_only

    @property
    def conn_id(self) -> str:
        """The connection id argument's value."""
        return str(getattr(self, self.conn_id_field))

    @cached_property
    def hook(self) -> RunsHook:
        """The service hook."""
        return self.hook_class(self.conn_id, **self.hook_params())

    def hook_params(self) -> dict[str, Any]:
        """Extra keyword arguments for the hook."""
        return {}

    # -- what a service writes ---------------------------------------------------------------
    def known_statuses(self) -> Sequence[str]:
        """The status names ``statuses`` may use."""
        raise NotImplementedError

    def check_filters(self) -> None:
        """Check the service's own filter arguments; raise ``ValueError`` naming one."""

    def iter_runs(self, statuses: list[str]) -> Iterator[Mapping[str, Any]]:
        """The matching runs, newest first, page by page (lazily: the caller stops early)."""
        raise NotImplementedError

    def row(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """A run's row (primitives only); at least ``run_id``, ``status``, ``state``."""
        raise NotImplementedError

    # -- the flow -----------------------------------------------------------------------------
    def validate_arguments(self) -> tuple[list[str], datetime | None]:
        """Check the rendered arguments; return the statuses and ``created_after``."""
        check_path_segment(self.conn_id, self.conn_id_field)
        statuses = as_list(self.statuses, "statuses")
        known = self.known_statuses()
        bad = [s for s in statuses if s not in known]
        if bad:
            raise ValueError(f"statuses: unknown status {bad[0]!r}; use some of {', '.join(known)}")
        self.check_filters()
        return statuses, parse_datetime(self.created_after, "created_after")

    def execute(self, context: Any) -> list[Any]:
        """List, newest first, until ``limit`` rows or a run created before ``created_after``."""
        with fail_without_retry():
            with invalid_arguments():
                statuses, since = self.validate_arguments()
            rows: list[dict[str, Any]] = []
            seen: set[str] = set()  # offset pages shift when runs are created meanwhile
            for item in self.iter_runs(statuses):
                created = service_time(item, self.created_field, service=self.hook_class.service)
                if since is not None and created is not None and created < since:
                    break
                row = self.row(item)
                if row["run_id"] in seen:
                    continue
                seen.add(row["run_id"])
                if statuses and not self.statuses_filtered_by_service and row["status"] not in statuses:
                    continue
                rows.append(row)
                if len(rows) >= self.limit:
                    break
        self.log.info("Listed %d %s run(s).", len(rows), self.hook_class.service)
        if self.ids_only:
            return [row["run_id"] for row in rows]
        return rows

    created_field: ClassVar[str] = "created_at"
    """The field of a listed run that holds its creation time."""
