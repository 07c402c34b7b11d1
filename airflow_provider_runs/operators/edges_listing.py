"""List Edges runs (``GET /v1/runs``, ``specs/edges.md`` §2.4) for dynamic task mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.edges_requests import ASSUMPTIONS
from airflow_provider_runs.hooks.edges_states import RUN_STATES, status_of
from airflow_provider_runs.operators.listing import BaseListRunsOperator, as_list
from airflow_provider_runs.services import EDGES

EXECUTION_MODES = ("LIVE", "ASYNC")
"""The ``execution_mode`` filter's values."""


class EdgesListRunsOperator(BaseListRunsOperator):
    """List the workspace's Edges runs, newest first, with the API's filters.

    Pages through ``GET /v1/runs?sort=-created_at`` (``limit``/``offset``, 100 a page) until
    ``limit`` rows or a run created before ``created_after``. Rows: ``{"run_id", "status",
    "state", "created_at", "url", "action_name", "execution_mode", "output_count"}``.

    :param edges_conn_id: the connection id (default ``edges_default``). Templated.
    :param statuses: only runs with these statuses (``SUCCEEDED``, ``FAILED``,
        ``PARTIAL_SUCCEEDED``, ...). Templated.
    :param action_names: only runs of these actions (slugs). Templated.
    :param execution_mode: only ``LIVE`` or ``ASYNC`` runs. Templated.
    :param schedule_uid: only runs created by this schedule (``scheduled_run_uid``; filtered on
        the listed rows: the API has no such filter). Templated.
    :param limit: see :class:`~airflow_provider_runs.operators.listing.BaseListRunsOperator`.
    :param created_after: see the base class. Templated.
    :param ids_only: see the base class.
    """

    hook_class = EdgesHook
    conn_id_field = "edges_conn_id"
    template_fields: Sequence[str] = (
        "edges_conn_id",
        "statuses",
        "action_names",
        "execution_mode",
        "schedule_uid",
        "created_after",
    )

    def __init__(
        self,
        *,
        edges_conn_id: str = EDGES.default_conn_id,
        action_names: str | Sequence[str] | None = None,
        execution_mode: str | None = None,
        schedule_uid: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.edges_conn_id = edges_conn_id
        self.action_names = action_names
        self.execution_mode = execution_mode
        self.schedule_uid = schedule_uid

    def known_statuses(self) -> Sequence[str]:
        """Edges' run statuses."""
        return tuple(RUN_STATES)

    def check_filters(self) -> None:
        """``action_names`` are strings; ``execution_mode`` is ``LIVE`` or ``ASYNC``."""
        as_list(self.action_names, "action_names")
        if self.execution_mode and self.execution_mode not in EXECUTION_MODES:
            raise ValueError(f"execution_mode must be LIVE or ASYNC; got {self.execution_mode!r}")
        if self.schedule_uid is not None and not isinstance(self.schedule_uid, str):
            raise ValueError(f"schedule_uid must be a string; got {self.schedule_uid!r}")

    def iter_runs(self, statuses: list[str]) -> Iterator[Mapping[str, Any]]:
        """``GET /v1/runs`` pages, newest first."""
        filters: dict[str, Any] = {}
        if statuses:
            filters["status"] = statuses
        if names := as_list(self.action_names, "action_names"):
            filters["action_name"] = names
        if self.execution_mode:
            filters["execution_mode"] = [self.execution_mode]
        hook = cast(EdgesHook, self.hook)
        size = min(self.limit, ASSUMPTIONS["list_limit_max"])
        for run in hook.iter_runs(filters=filters, sort=["-created_at"], page_size=size):
            if not self.schedule_uid or run.get("scheduled_run_uid") == self.schedule_uid:
                yield run

    def row(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The run's row."""
        run_id = str(item.get("uid"))
        return {
            "run_id": run_id,
            "status": item.get("status"),
            "state": status_of(item).state.value,
            "created_at": item.get("created_at"),
            "url": self.hook.run_url(run_id),
            "action_name": item.get("action_name"),
            "execution_mode": item.get("execution_mode"),
            "output_count": item.get("output_count"),
        }
