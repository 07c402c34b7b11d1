"""List Inferable runs (``GET /clusters/{c}/runs``, ``specs/inferable.md`` §2.3) for dynamic task mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from airflow_provider_runs.hooks.inferable import LIST_LIMIT_MAX, LIST_TYPES, RUN_STATES, InferableHook
from airflow_provider_runs.hooks.inferable_states import interpret_status
from airflow_provider_runs.operators.listing import BaseListRunsOperator
from airflow_provider_runs.services import INFERABLE
from airflow_provider_runs.validation import check_path_segment


class InferableListRunsOperator(BaseListRunsOperator):
    """List the cluster's Inferable runs, newest first.

    The API returns the newest 50 runs at most, with no paging and no status filter (spec
    §2.3): one request, ``limit`` 50, then ``statuses`` and ``created_after`` are applied to
    those rows here. Rows: ``{"run_id", "status", "state", "created_at", "url", "name"}``.

    :param inferable_conn_id: the connection id (default ``inferable_default``). Templated.
    :param cluster_id: overrides the connection's cluster id. Templated.
    :param statuses: only runs with these statuses (``pending``, ``running``, ``paused``,
        ``done``, ``failed``), among the newest 50. Templated.
    :param user_id: only the runs of this user (e.g. ``cluster:<key id>``). Templated.
    :param run_type: ``conversation``, ``workflow`` or ``all`` (the API's ``type``). Templated.
    :param test: list test runs (the API lists either test runs or the others).
    :param limit: the most rows, up to 50.
    :param created_after: only runs created since (see
        :class:`~airflow_provider_runs.operators.listing.BaseListRunsOperator`). Templated.
    :param ids_only: see the base class.
    """

    hook_class = InferableHook
    conn_id_field = "inferable_conn_id"
    max_limit = LIST_LIMIT_MAX
    statuses_filtered_by_service = False
    created_field = "createdAt"
    template_fields: Sequence[str] = (
        "inferable_conn_id",
        "cluster_id",
        "statuses",
        "user_id",
        "run_type",
        "created_after",
    )

    def __init__(
        self,
        *,
        inferable_conn_id: str = INFERABLE.default_conn_id,
        cluster_id: str | None = None,
        user_id: str | None = None,
        run_type: str | None = None,
        test: bool = False,
        limit: int = LIST_LIMIT_MAX,
        **kwargs: Any,
    ) -> None:
        super().__init__(limit=limit, **kwargs)
        self.inferable_conn_id = inferable_conn_id
        self.cluster_id = cluster_id
        self.user_id = user_id
        self.run_type = run_type
        self.test = test

    def hook_params(self) -> dict[str, Any]:
        """Pass the cluster override to the hook."""
        return {"cluster_id": self.cluster_id} if self.cluster_id else {}

    def known_statuses(self) -> Sequence[str]:
        """Inferable's run statuses."""
        return tuple(RUN_STATES)

    def check_filters(self) -> None:
        """``cluster_id`` is an id; ``run_type`` one of the API's."""
        if self.cluster_id:
            check_path_segment(self.cluster_id, "cluster_id")
        if self.run_type and self.run_type not in LIST_TYPES:
            raise ValueError(f"run_type must be one of {', '.join(LIST_TYPES)}; got {self.run_type!r}")

    def iter_runs(self, statuses: list[str]) -> Iterator[Mapping[str, Any]]:
        """The newest 50 runs (one request)."""
        yield from cast(InferableHook, self.hook).list_runs(
            limit=LIST_LIMIT_MAX,
            user_id=self.user_id or None,
            test=self.test or None,
            type=self.run_type or None,
        )

    def row(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The run's row."""
        run_id = str(item.get("id"))
        status = interpret_status(item.get("status"), failure_reason=item.get("failureReason"))
        return {
            "run_id": run_id,
            "status": item.get("status"),
            "state": status.state.value,
            "created_at": item.get("createdAt"),
            "url": self.hook.run_url(run_id),
            "name": item.get("name"),
        }
