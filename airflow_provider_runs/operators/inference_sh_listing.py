"""List inference.sh tasks (``POST /tasks/list``, ``specs/inference_sh.md`` §3.5) for dynamic task mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from airflow_provider_runs.hooks.inference_sh import NAME_TO_STATE, InferenceShHook
from airflow_provider_runs.hooks.inference_sh_requests import NEWEST_FIRST
from airflow_provider_runs.operators.listing import BaseListRunsOperator
from airflow_provider_runs.services import INFERENCE_SH
from airflow_provider_runs.validation import check_path_segment

ACTIVE_STATUSES = tuple(
    name
    for name, state in NAME_TO_STATE.items()
    if not state.is_terminal and name not in ("unknown", "scheduled")
)
"""The status names of a task still going (``received`` ... ``uploading``): ``statuses=ACTIVE_STATUSES``."""
PAGE_SIZE_MAX = 100
"""Tasks asked for per page (the list takes more, but rows are small and ``limit`` bounds them)."""


class InferenceShListTasksOperator(BaseListRunsOperator):
    """List inference.sh tasks, newest first, with the API's filters.

    Pages through ``POST /tasks/list`` (sorted ``created_at`` descending, following
    ``next_cursor``) until ``limit`` rows or a task created before ``created_after``. Rows:
    ``{"run_id", "status" (the name), "state", "created_at", "url", "app_id", "session_id"}``.

    :param inference_sh_conn_id: the connection id (default ``inference_sh_default``). Templated.
    :param statuses: only tasks with these status names (``completed``, ``failed``,
        ``running``, ...; sent as the list's ``status`` ``in`` filter). Templated.
    :param app_id: only tasks of this app id. Templated.
    :param session_id: only tasks of this session. Templated.
    :param search: only tasks the API's full-text search finds for this term (``search.term``),
        e.g. a tag put in the inputs such as ``"{{ run_id }}"``. Templated.
    :param limit: see :class:`~airflow_provider_runs.operators.listing.BaseListRunsOperator`.
    :param created_after: see the base class. Templated.
    :param ids_only: see the base class.
    """

    hook_class = InferenceShHook
    conn_id_field = "inference_sh_conn_id"
    template_fields: Sequence[str] = (
        "inference_sh_conn_id",
        "statuses",
        "app_id",
        "session_id",
        "search",
        "created_after",
    )

    def __init__(
        self,
        *,
        inference_sh_conn_id: str = INFERENCE_SH.default_conn_id,
        app_id: str | None = None,
        session_id: str | None = None,
        search: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.search = search
        self.inference_sh_conn_id = inference_sh_conn_id
        self.app_id = app_id
        self.session_id = session_id

    def known_statuses(self) -> Sequence[str]:
        """inference.sh's status names."""
        return tuple(name for name in NAME_TO_STATE if name != "scheduled")

    def check_filters(self) -> None:
        """``app_id`` and ``session_id`` are ids."""
        if self.app_id:
            check_path_segment(self.app_id, "app_id")
        if self.session_id:
            check_path_segment(self.session_id, "session_id")
        if self.search is not None and not isinstance(self.search, str):
            raise ValueError(f"search must be a string; got {self.search!r}")

    def iter_runs(self, statuses: list[str]) -> Iterator[Mapping[str, Any]]:
        """``POST /tasks/list`` pages, newest first."""
        filters: list[dict[str, Any]] = []
        if statuses:
            filters.append({"field": "status", "operator": "in", "value": statuses})
        if self.app_id:
            filters.append({"field": "app_id", "operator": "eq", "value": self.app_id})
        if self.session_id:
            filters.append({"field": "session_id", "operator": "eq", "value": self.session_id})
        hook = cast(InferenceShHook, self.hook)
        size = min(self.limit, PAGE_SIZE_MAX)
        search = {"term": self.search} if self.search else None
        yield from hook.iter_tasks(page_size=size, filters=filters or None, sort=NEWEST_FIRST, search=search)

    def row(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The task's row (its status read with the connection's numbering)."""
        hook = cast(InferenceShHook, self.hook)
        run_id = str(item.get("id"))
        status = hook.task_status(item)
        return {
            "run_id": run_id,
            "status": status.details.get("status_name") or status.raw_status,
            "state": status.state.value,
            "created_at": item.get("created_at"),
            "url": hook.run_url(run_id),
            "app_id": item.get("app_id"),
            "session_id": item.get("session_id"),
        }
