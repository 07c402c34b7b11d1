"""inference.sh: run app tasks, poll them, cancel them (spec: ``specs/inference_sh.md``).

Every API call is written once (:mod:`~airflow_provider_runs.core.calls`) and run blocking or
async (``get_task`` / ``aget_task``). The state table, with both status-code numberings, is
:mod:`~airflow_provider_runs.hooks.inference_sh_states`; envelopes, error bodies and request
building are :mod:`~airflow_provider_runs.hooks.inference_sh_requests`. Their public names are
importable from this module too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_runs.core.calls import Call, Item, Items, api_call, api_items
from airflow_provider_runs.core.errors import BadRequestError, ConflictError
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.hooks.base import RunsHook, ServiceSettings
from airflow_provider_runs.hooks.inference_sh_requests import (
    INFRA_CHOICES,
    NEWEST_FIRST,
    RunFields,
    cancel_request,
    created_at,
    list_request,
    parse_error_body,
    run_request,
    session_segment,
    task_matches_request,
    task_object,
    task_segment,
    unwrap,
    validate_run_request,
)
from airflow_provider_runs.hooks.inference_sh_states import (
    CURRENT_CODES,
    LEGACY_CODES,
    NAME_TO_STATE,
    STATUS_NUMBERINGS,
    TERMINAL_CANDIDATE_CODES,
    StatusNumbering,
    check_numbering,
    interpret_status,
    listed_status,
    needs_full_task,
    status_from,
)
from airflow_provider_runs.services import INFERENCE_SH
from airflow_provider_runs.validation import check_path_segment

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

__all__ = [
    "CURRENT_CODES",
    "INFRA_CHOICES",
    "LEGACY_CODES",
    "NAME_TO_STATE",
    "STATUS_NUMBERINGS",
    "TERMINAL_CANDIDATE_CODES",
    "InferenceShHook",
    "RunFields",
    "StatusNumbering",
    "interpret_status",
    "needs_full_task",
    "parse_error_body",
    "task_matches_request",
    "unwrap",
    "validate_run_request",
]


class InferenceShHook(RunsHook):
    """Hook for the inference.sh tasks API.

    The connection (type ``inference_sh``) holds the API key as its password and the API base
    URL as its host (default ``https://api.inference.sh``). The extra ``status_numbering``
    (``auto`` | ``legacy`` | ``current``) tells how to read integer status codes; see
    :mod:`~airflow_provider_runs.hooks.inference_sh_states` for the ``auto`` rule.

    :param inference_sh_conn_id: the connection id (default ``inference_sh_default``).
    :param status_numbering: overrides the connection's ``status_numbering`` extra.
    """

    descriptor = INFERENCE_SH
    supports_cancel = True

    batch_size = 200
    """Task ids per ``POST /tasks/list`` with an ``id`` ``in`` filter (see :meth:`batch_status`);
    set to 0 on an instance whose server refuses that filter. 200: the list takes up to 10,000
    (spec §3.5), and at the documented 1000 task reads a minute a sweep of 10,000 tasks every 5 s
    fits only in batches of about 100 or more; 200 leaves room for creates and final reads."""

    def __init__(
        self,
        inference_sh_conn_id: str = INFERENCE_SH.default_conn_id,
        *,
        status_numbering: StatusNumbering | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(inference_sh_conn_id, **kwargs)
        if status_numbering is not None:
            check_numbering(status_numbering)
        self._status_numbering_override = status_numbering

    # -- settings --------------------------------------------------------------------------
    def settings_from_connection(self, conn: Any, extras: Mapping[str, Any]) -> ServiceSettings:
        """Read the connection and check ``status_numbering``."""
        settings = super().settings_from_connection(conn, extras)
        numbering = extras.get("status_numbering") or "auto"
        if numbering not in STATUS_NUMBERINGS:
            raise ValueError(
                f"Connection {self.conn_id!r}: extra status_numbering must be one of "
                f"{', '.join(STATUS_NUMBERINGS)}; got {numbering!r}"
            )
        return settings

    @property
    def numbering(self) -> StatusNumbering:
        """How integer status codes are read: the hook's override, else the connection's extra."""
        return self._status_numbering_override or self.settings.extras.get("status_numbering") or "auto"

    def error_parser(self, status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
        """Read problem+json, v1 and 412 error bodies."""
        return parse_error_body(status_code, body, text)

    def default_run_url(self, base_url: str, run_id: str) -> str:
        """The task's page in the web app, ``https://app.inference.sh/tasks/{id}`` (the emulator's
        stand-in page when the connection points at it; see ``ServiceDescriptor.web_root``).

        An assumption: the specs name the web app's host but no task page; this one mirrors the
        API's path of a task. A connection's ``run_url_template`` overrides it.
        """
        return self.descriptor.web_page(base_url, "tasks", run_id)

    @staticmethod
    def build_run_request(
        app: str | None, input: Mapping[str, Any], *, wait: bool = False, **fields: Unpack[RunFields]
    ) -> ApiRequest:
        """Validate and build ``POST /run`` (always ``wait=false`` unless asked).

        :param app: the app reference ``namespace/name@version`` (optionally ``:function``).
        :param input: the app input, a JSON object.
        :param wait: ask the service to answer only when the task ends.
        :param fields: the other request fields (:class:`RunFields`).
        """
        return run_request(app, input, wait=wait, fields=fields)

    # -- tasks -----------------------------------------------------------------------------
    @api_call
    def run_task(
        self, app: str | None, input: Mapping[str, Any], *, wait: bool = False, **fields: Unpack[RunFields]
    ) -> Call[dict[str, Any]]:
        """Create a task (``POST /run?wait=false``); see :meth:`build_run_request` for arguments.

        Never retried blindly: the service has no idempotency key, so an ambiguous failure
        raises :class:`~airflow_provider_runs.core.errors.AmbiguousWriteError` and the caller
        looks the task up (:meth:`find_task`) before creating another.
        """
        response = yield run_request(app, input, wait=wait, fields=fields)
        return task_object(unwrap(response.body))

    @api_call
    def get_task(self, task_id: str) -> Call[dict[str, Any]]:
        """Read the full task (``GET /tasks/{id}``)."""
        response = yield ApiRequest("GET", f"/tasks/{task_segment(task_id)}")
        return task_object(unwrap(response.body))

    @api_call
    def get_task_status(self, task_id: str) -> Call[dict[str, Any]]:
        """Read the light status ``{id, status, updated_at}`` (``GET /tasks/{id}/status``)."""
        response = yield ApiRequest("GET", f"/tasks/{task_segment(task_id)}/status")
        return task_object(unwrap(response.body))

    @api_call
    def get_task_logs(self, task_id: str) -> Call[dict[str, Any]]:
        """Read a task's logs ``{task_id, status, events, logs: [{id, log_type, content}]}``
        (``GET /tasks/{id}/logs``)."""
        response = yield ApiRequest("GET", f"/tasks/{task_segment(task_id)}/logs")
        return task_object(unwrap(response.body))

    def run_log(self, run_id: str) -> str | None:
        """The task's logs (every entry's ``content``, in the order given) as one text."""
        entries = self.get_task_logs(run_id).get("logs") or ()
        texts = [e.get("content") for e in entries if isinstance(e, dict)]
        return "\n".join(text for text in texts if isinstance(text, str)) or None

    @api_call
    def cancel_task(
        self, task_id: str, *, force: bool = False, timeout_ms: int | None = None
    ) -> Call[dict[str, Any]]:
        """Cancel a task; a task that already ended (409) is not an error: its state is returned."""
        try:
            response = yield cancel_request(task_id, force, timeout_ms)
        except ConflictError:
            return (yield from self.get_task.steps(task_id))
        body = unwrap(response.body)
        return body if isinstance(body, dict) else {"id": task_id, "cancelled": True}

    @api_call
    def list_tasks(
        self,
        *,
        limit: int = 10,
        cursor: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        sort: Sequence[Mapping[str, Any]] | None = None,
        search: Mapping[str, Any] | None = None,
    ) -> Call[dict[str, Any]]:
        """One page of ``POST /tasks/list`` (arguments: see
        :func:`~airflow_provider_runs.hooks.inference_sh_requests.list_request`)."""
        response = yield list_request(limit=limit, cursor=cursor, filters=filters, sort=sort, search=search)
        page = unwrap(response.body)
        return page if isinstance(page, dict) else {"items": page or []}

    @api_items
    def iter_tasks(
        self,
        *,
        page_size: int = 50,
        filters: Sequence[Mapping[str, Any]] | None = None,
        sort: Sequence[Mapping[str, Any]] | None = None,
        search: Mapping[str, Any] | None = None,
    ) -> Items[dict[str, Any]]:
        """Iterate over every matching task, following ``next_cursor`` lazily."""
        cursor = None
        while True:
            page = yield from self.list_tasks.steps(
                limit=page_size, cursor=cursor, filters=filters, sort=sort, search=search
            )
            for item in page.get("items") or []:
                yield Item(item)
            cursor = page.get("next_cursor")
            if not page.get("has_next") or not cursor:
                return

    def find_task(
        self,
        input: Mapping[str, Any],
        *,
        created_after: datetime | None = None,
        app: str | None = None,
        request: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """The newest task :meth:`find_tasks` matches, or ``None``."""
        return next(iter(self.find_tasks(input, created_after=created_after, app=app, request=request)), None)

    def find_tasks(
        self,
        input: Mapping[str, Any],
        *,
        created_after: datetime | None = None,
        app: str | None = None,
        request: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Every task that may have been created by this request, newest first (spec §8.4).

        Lists tasks newest first (:meth:`iter_tasks`) and stops at the first one created before
        ``created_after``. A task matches when its ``input`` is equal and every request field it
        echoes agrees (:func:`task_matches_request`): the app reference with its version and
        function when the server echoes one, ``app_id`` / ``app_version_id`` when the request gave
        ids, ``function``, ``setup``, ``infra``, ``workers``, ``webhook``, ``run_at``,
        ``session_timeout``, ``metadata``. The service has no client reference: equal requests
        still match each other.

        :param input: the request's input.
        :param created_after: the earliest creation time of a match.
        :param app: the request's app reference.
        :param request: the other fields of the run request (:class:`RunFields`).
        """
        found = []
        for item in self.iter_tasks(sort=NEWEST_FIRST):
            created = created_at(item)
            if created_after is not None and created is not None and created < created_after:
                break
            if item.get("input") == dict(input) and task_matches_request(item, app, request or {}):
                found.append(item)
        return found

    def task_status(self, task: Mapping[str, Any]) -> RunStatus:
        """The status of a full task object (e.g. a list item), read with this hook's numbering."""
        return status_from(task, task, self.numbering)

    # -- sessions --------------------------------------------------------------------------
    @api_call
    def get_session(self, session_id: str) -> Call[dict[str, Any]]:
        """Read a session (``GET /sessions/{id}``)."""
        response = yield ApiRequest("GET", f"/sessions/{session_segment(session_id)}")
        return unwrap(response.body)  # type: ignore[no-any-return]

    @api_call
    def keepalive_session(self, session_id: str) -> Call[dict[str, Any]]:
        """Reset a session's idle timer."""
        path = f"/sessions/{session_segment(session_id)}/keepalive"
        response = yield ApiRequest("POST", path, idempotent=True)
        return unwrap(response.body)  # type: ignore[no-any-return]

    @api_call
    def end_session(self, session_id: str) -> Call[None]:
        """End a session and release its worker."""
        yield ApiRequest("DELETE", f"/sessions/{session_segment(session_id)}")

    # -- the run interface -----------------------------------------------------------------
    @api_call
    def get_status(self, run_id: str) -> Call[RunStatus]:
        """Poll ``/tasks/{id}/status``; read the full task only when it may be terminal."""
        numbering = self.numbering
        light = yield from self.get_task_status.steps(run_id)
        task = None
        if needs_full_task(light.get("status"), light.get("status_text")):
            task = yield from self.get_task.steps(run_id)
        return status_from(light, task, numbering)

    @api_call
    def batch_status(self, run_ids: Sequence[str]) -> Call[dict[str, RunStatus]]:
        """Statuses of many tasks from ``POST /tasks/list`` with
        ``filters: [{"field": "id", "operator": "in", "value": [...]}]`` and ``limit`` = their number.

        **Assumption**: the spec (§3.5) documents the ``in`` operator but not filtering on ``id``.
        A server that answers 400 ``invalid_filter`` turns batching off for this hook instance
        (:attr:`batch_size` becomes 0), and every task is read on its own again.

        A listed task is mapped as :meth:`get_status` maps it, with the same numbering: the
        light fields alone while the status cannot be terminal, the whole task (``error`` decides
        10 and 11 under ``auto``) when it may be. A task missing from the answer, or a possibly
        terminal one listed without its ``error`` field, is left out (its own read decides).
        """
        size = self.batch_size
        if size <= 0:
            return {}
        numbering = self.numbering
        ids: list[str] = []
        for task_id in dict.fromkeys(run_ids):
            try:
                ids.append(check_path_segment(task_id, "task_id"))
            except ValueError:
                continue
        statuses: dict[str, RunStatus] = {}
        for start in range(0, len(ids), size):
            wanted = ids[start : start + size]
            filters = [{"field": "id", "operator": "in", "value": wanted}]
            try:
                page = yield from self.list_tasks.steps(limit=len(wanted), filters=filters)
            except BadRequestError as exc:
                if exc.code != "invalid_filter":
                    raise
                self.batch_size = 0
                self.log.warning(
                    "inference.sh refused to list tasks by id (%s); polling each task on its own.", exc
                )
                return statuses
            items = page.get("items")
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and item.get("id") in wanted:
                    status = listed_status(item, numbering)
                    if status is not None:
                        statuses[item["id"]] = status
        return statuses

    @api_call
    def cancel_run(self, run_id: str) -> Call[None]:
        """Cancel the task."""
        yield from self.cancel_task.steps(run_id)

    @api_call
    def check_connection(self) -> Call[None]:
        """List one task: cheap, authenticated, needs only the ``apps:read`` scope."""
        yield from self.list_tasks.steps(limit=1)

    # -- async twins (the same descriptions, run by the async driver) ----------------------
    arun_task = run_task.aio
    aget_task = get_task.aio
    aget_task_status = get_task_status.aio
    aget_task_logs = get_task_logs.aio
    acancel_task = cancel_task.aio
    alist_tasks = list_tasks.aio
    aiter_tasks = iter_tasks.aio
    aget_status = get_status.aio
    abatch_status = batch_status.aio
    acancel_run = cancel_run.aio
