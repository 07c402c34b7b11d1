"""Inferable: create agent runs, read them, find and answer approvals (``specs/inferable.md``).

Each API call is written once (:mod:`~airflow_provider_runs.core.calls`): ``hook.get_run(r)``
runs it blocking, ``await hook.aget_run(r)`` without blocking. The state table and the error
bodies are in :mod:`~airflow_provider_runs.hooks.inferable_states`, the checks of the
create-run body in :mod:`~airflow_provider_runs.hooks.inferable_requests`; their public names
are importable from here too. Inferable has no run-cancel endpoint (``supports_cancel`` is
false): the base's :meth:`~airflow_provider_runs.hooks.base.RunsHook.cancel_run` only logs where
the run keeps going.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from airflow_provider_runs.core.calls import Call, api_call
from airflow_provider_runs.core.errors import AuthError, NotFoundError
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.hooks.base import RunsHook, ServiceSettings, json_object, path_segment
from airflow_provider_runs.hooks.inferable_messages import InferableMessagesMixin
from airflow_provider_runs.hooks.inferable_requests import (
    PROPERTY_NAME,
    RUN_ID_PATTERN,
    build_run_body,
    check_on_status_change,
    check_result_schema,
    idempotency_id,
)
from airflow_provider_runs.hooks.inferable_states import (
    LISTED_WAITING,
    RUN_STATES,
    approval_job_ids,
    approval_of,
    awaits_approval,
    interpret_status,
    parse_error_body,
)
from airflow_provider_runs.services import INFERABLE
from airflow_provider_runs.validation import check_path_segment

__all__ = [
    "CONSUMER_KEY_HINT",
    "LISTED_WAITING",
    "LIST_LIMIT_MAX",
    "PROPERTY_NAME",
    "RUN_ID_PATTERN",
    "RUN_STATES",
    "InferableHook",
    "build_run_body",
    "check_on_status_change",
    "check_result_schema",
    "idempotency_id",
    "interpret_status",
    "parse_error_body",
]

_obj = partial(json_object, service=INFERABLE.name, label=INFERABLE.display_name)
_rid = partial(path_segment, what="run_id")
_jid = partial(path_segment, what="job_id")

LIST_LIMIT_MAX = 50
"""The largest ``limit`` of ``GET /clusters/{c}/runs`` (spec §2.3)."""
LIST_TYPES = ("conversation", "workflow", "all")
"""The run kinds ``GET /clusters/{c}/runs`` filters by (``type``)."""
CONSUMER_KEY_HINT = (
    "creating runs needs a cluster consumer API key (sk_...); a machine key (sk_machine...) "
    "may not be allowed to create runs"
)
"""Added to an auth error of a create: the usual cause is a machine key."""


class InferableHook(InferableMessagesMixin, RunsHook):
    """Hook for the Inferable runs API.

    The connection (type ``inferable``) holds the cluster API key as its password, the API base
    URL as its host (default ``https://api.inferable.ai``) and the cluster id as the extra field
    ``cluster_id``. Messages and approvals of an existing run come from
    :class:`~airflow_provider_runs.hooks.inferable_messages.InferableMessagesMixin`.

    :param inferable_conn_id: the connection id (default ``inferable_default``).
    :param cluster_id: overrides the connection's cluster id.
    """

    descriptor = INFERABLE
    supports_cancel = False
    build_run_body = staticmethod(build_run_body)

    batch_size = 1000
    """Runs one :meth:`abatch_status` call takes: its one listing request answers for any number
    of ids, but only for the cluster's newest 50 runs."""

    def __init__(
        self,
        inferable_conn_id: str = INFERABLE.default_conn_id,
        *,
        cluster_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(inferable_conn_id, **kwargs)
        self._cluster_override = cluster_id

    def settings_from_connection(self, conn: Any, extras: Mapping[str, Any]) -> ServiceSettings:
        """Read the connection; the cluster id is required."""
        settings = super().settings_from_connection(conn, extras)
        cluster = self._cluster_override or extras.get("cluster_id")
        if not cluster or not isinstance(cluster, str) or not cluster.strip():
            raise ValueError(
                f"Connection {self.conn_id!r} has no cluster id: set its 'Cluster ID' field "
                "(extra cluster_id) or pass cluster_id"
            )
        check_path_segment(cluster.strip(), "cluster_id")
        return settings

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """``Authorization: Bearer <key>``."""
        return {"Authorization": f"Bearer {api_key}"}

    def error_parser(self, status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
        """Read Inferable's error bodies."""
        return parse_error_body(status_code, body, text)

    def cluster_id(self, settings: ServiceSettings) -> str:
        """The cluster id in use (the override, else the connection's)."""
        return str(self._cluster_override or settings.extras["cluster_id"]).strip()

    def default_run_url(self, base_url: str, run_id: str) -> str:
        """The run's page in the console, ``https://app.inferable.ai/clusters/{c}/runs/{id}`` (the
        emulator's stand-in page when the connection points at it; see
        ``ServiceDescriptor.web_root``). A self-hosted control plane's console lives elsewhere:
        set the connection's ``run_url_template``."""
        return self.descriptor.web_page(base_url, "clusters", self.cluster_id(self.settings), "runs", run_id)

    def _path(self, path: str) -> str:
        """``path`` under the cluster: ``/clusters/{c}{path}``."""
        return f"/clusters/{path_segment(self.cluster_id(self.settings), 'cluster_id')}{path}"

    # -- runs ---------------------------------------------------------------------------------
    @api_call
    def create_run(self, **kwargs: Any) -> Call[dict[str, Any]]:
        """Create a run (``POST /clusters/{c}/runs``); see :func:`build_run_body` for arguments.

        With a ``run_id`` the call is idempotent (a reused id returns the existing run), so it
        is retried on transient failures like a read.
        """
        body = build_run_body(**kwargs)
        request = ApiRequest("POST", self._path("/runs"), json_body=body, idempotent="id" in body)
        try:
            response = yield request
        except AuthError as exc:
            raise _consumer_key_hint(exc) from None
        return _obj(response.body)

    acreate_run = create_run.aio

    @api_call
    def get_run(self, run_id: str) -> Call[dict[str, Any]]:
        """Read a run (``GET /clusters/{c}/runs/{r}``); an unknown id raises ``NotFoundError``."""
        response = yield ApiRequest("GET", self._path(f"/runs/{_rid(run_id)}"))
        return _obj(response.body)

    aget_run = get_run.aio

    @api_call
    def find_run(self, run_id: str) -> Call[dict[str, Any] | None]:
        """Read a run, or ``None`` when it does not exist."""
        try:
            return (yield from self.get_run.steps(run_id))
        except NotFoundError:
            return None

    afind_run = find_run.aio

    @api_call
    def list_runs(
        self,
        *,
        limit: int = LIST_LIMIT_MAX,
        user_id: str | None = None,
        test: bool | None = None,
        type: str | None = None,
    ) -> Call[list[dict[str, Any]]]:
        """The newest runs (``GET /clusters/{c}/runs``; no paging exists).

        :param limit: how many, 10 to 50.
        :param user_id: only the runs of this user.
        :param test: only test runs (``True``) or only other runs (``False``).
        :param type: ``conversation``, ``workflow`` or ``all``.
        """
        if not isinstance(limit, int) or not 10 <= limit <= LIST_LIMIT_MAX:
            raise ValueError(f"limit must be between 10 and {LIST_LIMIT_MAX}; got {limit!r}")
        if type is not None and type not in LIST_TYPES:
            raise ValueError(f"type must be one of {', '.join(LIST_TYPES)}")
        params = {"limit": limit, "userId": user_id, "test": test, "type": type}
        response = yield ApiRequest("GET", self._path("/runs"), params=params)
        return list(response.body or [])

    alist_runs = list_runs.aio

    @api_call
    def list_messages(
        self, run_id: str, *, after: str | None = None, limit: int = 50
    ) -> Call[list[dict[str, Any]]]:
        """The run's messages, newest first (``GET /clusters/{c}/runs/{r}/messages``).

        :param run_id: the run.
        :param after: only the messages after this message id.
        :param limit: how many at most.
        """
        params = {"after": after, "limit": limit}
        response = yield ApiRequest("GET", self._path(f"/runs/{_rid(run_id)}/messages"), params=params)
        return list(response.body or [])

    alist_messages = list_messages.aio

    @api_call
    def list_events(
        self, *, run_id: str | None = None, type: str | None = None
    ) -> Call[list[dict[str, Any]]]:
        """The newest 100 events of the cluster (``approvalRequested``, ``approvalGranted``, ...).

        :param run_id: only the events of this run.
        :param type: only the events of this type.
        """
        response = yield ApiRequest("GET", self._path("/events"), params={"runId": run_id, "type": type})
        return list(response.body or [])

    alist_events = list_events.aio

    # -- approvals -----------------------------------------------------------------------------
    @api_call
    def pending_approval(self, run_id: str) -> Call[dict[str, Any] | None]:
        """The run's first job with a requested, unanswered approval (``{"id", "targetFn",
        "input"}``), or ``None``."""
        params = {"runId": run_id, "type": "approvalRequested"}
        events = (yield ApiRequest("GET", self._path("/events"), params=params)).body
        for job_id in approval_job_ids(events):
            job = (yield ApiRequest("GET", self._path(f"/jobs/{_jid(job_id)}"))).body
            if awaits_approval(job):
                return approval_of(job)
        return None

    apending_approval = pending_approval.aio

    @api_call
    def answer_approval(self, job_id: str, approved: bool) -> Call[None]:
        """Approve or deny a job (``POST /clusters/{c}/jobs/{job}/approval``); later answers are no-ops.

        :param job_id: the job waiting for the approval.
        :param approved: ``True`` to approve, ``False`` to deny.
        """
        path = self._path(f"/jobs/{_jid(job_id)}/approval")
        yield ApiRequest("POST", path, json_body={"approved": bool(approved)}, idempotent=True)

    aanswer_approval = answer_approval.aio

    # -- the run interface ----------------------------------------------------------------------
    @api_call
    def get_status(self, run_id: str) -> Call[RunStatus]:
        """Read the run; look for a pending approval only when it is paused."""
        run = yield from self.get_run.steps(run_id)
        approval = (yield from self.pending_approval.steps(run_id)) if run.get("status") == "paused" else None
        return interpret_status(run.get("status"), failure_reason=run.get("failureReason"), approval=approval)

    aget_status = get_status.aio

    @api_call
    def batch_status(self, run_ids: Sequence[str]) -> Call[dict[str, RunStatus]]:
        """Statuses of the waiting runs found among the cluster's newest 50 (``GET
        /clusters/{c}/runs?limit=50``, spec §2.3: no id filter, no paging).

        A listed item carries the run's ``status`` (and ``failureReason`` where the server leaks
        it) but not what a finished or paused run needs (the result, a pending approval), so only
        runs listed as :data:`LISTED_WAITING` (``pending``, ``running``) are answered, mapped as
        :meth:`get_status` maps them; any other run is left out and read on its own, so the final
        event carries the full run.
        """
        wanted = set(run_ids)
        if not wanted:
            return {}
        body = (yield ApiRequest("GET", self._path("/runs"), params={"limit": LIST_LIMIT_MAX})).body
        return {
            item["id"]: interpret_status(item["status"], failure_reason=item.get("failureReason"))
            for item in (body if isinstance(body, list) else ())
            if isinstance(item, dict) and item.get("id") in wanted and item.get("status") in LISTED_WAITING
        }

    abatch_status = batch_status.aio

    def check_connection(self) -> None:
        """List the newest 10 runs of the cluster: cheap and authenticated."""
        self.list_runs(limit=10)


def _consumer_key_hint(exc: AuthError) -> AuthError:
    """``exc`` with :data:`CONSUMER_KEY_HINT` appended to its message."""
    exc.message = f"{exc.message}; {CONSUMER_KEY_HINT}"
    exc.args = (exc._render(),)
    return exc
