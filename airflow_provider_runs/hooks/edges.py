"""Edges: run actions live, async (up to 100,000 inputs) or on a schedule (``specs/edges.md``).

Each API call is written once (:mod:`~airflow_provider_runs.core.calls`): ``hook.get_run(uid)``
runs it blocking, ``await hook.aget_run(uid)`` without blocking. Around the hook:

- :mod:`~airflow_provider_runs.hooks.edges_launch`: the launch calls (live, async, schedule);
- :mod:`~airflow_provider_runs.hooks.edges_states`: the run state table (``BLOCKED`` and
  ``STOPPED`` are ``NEEDS_ACTION`` with their :class:`~airflow_provider_runs.core.states.ActionNeeded`);
- :mod:`~airflow_provider_runs.hooks.edges_groups`: run groups (a batch split into several runs);
- :mod:`~airflow_provider_runs.hooks.edges_requests`: argument checks, launch bodies, list queries
  and the spec's marked assumptions (:data:`ASSUMPTIONS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from airflow_provider_runs.core.calls import Call, Item, Items, api_call, api_items
from airflow_provider_runs.core.errors import BadRequestError
from airflow_provider_runs.core.http import ApiRequest, ApiResponse
from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.hooks.base import ServiceSettings, json_object, path_segment
from airflow_provider_runs.hooks.edges_groups import RunGroup, combine_statuses
from airflow_provider_runs.hooks.edges_launch import EdgesLaunchCalls
from airflow_provider_runs.hooks.edges_requests import (
    ASSUMPTIONS,
    InputsTooManyError,
    callback_list_params,
    check_identity,
    check_sort,
    identity_ids_setting,
    parse_error_body,
    run_list_params,
    schedule_list_params,
    schedule_uid,
    streamed_launch_body,
)
from airflow_provider_runs.hooks.edges_schedule_runs import EdgesScheduleRunCalls
from airflow_provider_runs.hooks.edges_states import (
    FAILED_INPUT_STATUSES,
    RUN_STATES,
    complete_status,
    interpret_status,
    status_of,
)
from airflow_provider_runs.services import EDGES
from airflow_provider_runs.validation import check_path_segment

__all__ = [  # the names tests and callers import from here, wherever they live
    "ASSUMPTIONS",
    "FAILED_INPUT_STATUSES",
    "RUN_STATES",
    "EdgesHook",
    "InputsTooManyError",
    "RunGroup",
    "check_sort",
    "interpret_status",
    "parse_error_body",
    "schedule_uid",
    "streamed_launch_body",
]

_obj = partial(json_object, service="edges", label="Edges")
_uid = partial(path_segment, what="run_uid")
_schedule = partial(path_segment, what="schedule_uid")


Params = Mapping[str, Any] | list[tuple[str, Any]]
"""Query parameters (pairs for repeated keys)."""


def _answer(request: ApiRequest) -> Call[ApiResponse]:
    """The response to one request (to read a page inside an items description)."""
    return (yield request)


def _listing(path: str, params: Params) -> Call[list[Any]]:
    """One page of a listing: its items (none for an empty body)."""
    return list((yield ApiRequest("GET", path, params=params)).body or [])


def _offset_pages(path: str, params_at: Callable[[int], Params], size: int) -> Items[Any]:
    """Every item of a ``limit``/``offset`` listing, page by page (a short page ends it).

    :param path: the listing's path.
    :param params_at: the query of the page starting at an offset.
    :param size: the page size asked for.
    """
    offset = 0
    while True:
        page = yield from _listing(path, params_at(offset))
        for item in page:
            yield Item(item)
        if len(page) < size:
            return
        offset += len(page)


class EdgesHook(EdgesScheduleRunCalls, EdgesLaunchCalls):
    """Hook for the Edges actions and runs API.

    The connection (type ``edges``) holds the API key as its password (sent as ``X-API-Key``),
    the API base URL as its host (default ``https://api.edges.run/v1``), and optional defaults:
    ``identity_mode``, ``identity_ids`` (comma-separated UUIDs) and ``callback_url``. The launch
    calls (``run_live``, ``iter_live_pages``, ``run_async``, ``run_schedule``) come from
    :class:`~airflow_provider_runs.hooks.edges_launch.EdgesLaunchCalls`; the narrow look-up of a
    schedule's next run (``find_schedule_run``) from
    :class:`~airflow_provider_runs.hooks.edges_schedule_runs.EdgesScheduleRunCalls`.

    A run id may name a run group (``uid1,uid2,...``, see
    :class:`~airflow_provider_runs.hooks.edges_groups.RunGroup`): the run interface
    (:meth:`get_status`, :meth:`batch_status`, :meth:`run_url`) waits on it as one run.

    :param edges_conn_id: the connection id (default ``edges_default``).
    """

    descriptor = EDGES
    supports_cancel = False
    batch_size = ASSUMPTIONS["list_limit_max"]
    """Run uids per ``GET /runs`` (its ``limit`` is at most 100, spec §2.4)."""
    run_list_params = staticmethod(run_list_params)

    def __init__(self, edges_conn_id: str = EDGES.default_conn_id, **kwargs: Any) -> None:
        super().__init__(edges_conn_id, **kwargs)

    def settings_from_connection(self, conn: Any, extras: Mapping[str, Any]) -> ServiceSettings:
        """Read the connection; check the identity defaults."""
        settings = super().settings_from_connection(conn, extras)
        check_identity(extras.get("identity_mode") or None, identity_ids_setting(extras.get("identity_ids")))
        return settings

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """``X-API-Key: <key>`` (not a Bearer token)."""
        return {"X-API-Key": api_key}

    def error_parser(self, status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
        """Read the Edges error body."""
        return parse_error_body(status_code, body, text)

    def default_run_url(self, base_url: str, run_id: str) -> str:
        """The run's page in the web app, ``https://app.edges.run/runs/{uid}`` (the emulator's
        stand-in page when the connection points at it; see ``ServiceDescriptor.web_root``).

        An assumption: the specs name the web app's host but no run page; this one mirrors the
        API's path of a run. A connection's ``run_url_template`` overrides it.
        """
        return self.descriptor.web_page(base_url, "runs", run_id)

    def schedule_url(self, schedule_uid: str) -> str:
        """The schedule's page in the web app, ``https://app.edges.run/schedules/{uid}`` (an
        assumption, as for runs; ``run_url_template`` names run pages and does not apply).

        :param schedule_uid: the schedule's uid.
        """
        return self.descriptor.web_page(self.settings.base_url, "schedules", schedule_uid)

    # -- runs ------------------------------------------------------------------------------
    @api_call
    def get_run(self, run_uid: str) -> Call[dict[str, Any]]:
        """The full run object."""
        return _obj((yield ApiRequest("GET", f"/runs/{_uid(run_uid)}")).body)

    aget_run = get_run.aio

    @api_call
    def get_run_status(self, run_uid: str) -> Call[dict[str, Any]]:
        """The light status object meant for polling."""
        return _obj((yield ApiRequest("GET", f"/runs/{_uid(run_uid)}/status")).body)

    aget_run_status = get_run_status.aio

    @api_call
    def resume_run(self, run_uid: str) -> Call[dict[str, Any]]:
        """Resume a BLOCKED or STOPPED run (409 otherwise)."""
        return _obj((yield ApiRequest("POST", f"/runs/{_uid(run_uid)}/resume", idempotent=False)).body)

    aresume_run = resume_run.aio

    @api_call
    def continue_run(self, run_uid: str) -> Call[dict[str, Any]]:
        """Continue an incremental run (same run uid, new items)."""
        return _obj((yield ApiRequest("POST", f"/runs/{_uid(run_uid)}/continue", idempotent=False)).body)

    acontinue_run = continue_run.aio

    @api_call
    def list_runs(
        self, *, filters: Mapping[str, Any] | None = None, sort: Any = None, limit: int = 10, offset: int = 0
    ) -> Call[list[dict[str, Any]]]:
        """One page of ``GET /runs``."""
        return (yield from _listing("/runs", run_list_params(filters, sort, limit, offset)))

    alist_runs = list_runs.aio

    @api_items
    def iter_runs(
        self, *, filters: Mapping[str, Any] | None = None, sort: Any = None, page_size: int = 100
    ) -> Items[dict[str, Any]]:
        """Every matching run, lazily, page by page (``limit``/``offset``; a short page ends it)."""
        yield from _offset_pages(
            "/runs", lambda offset: run_list_params(filters, sort, page_size, offset), page_size
        )

    aiter_runs = iter_runs.aio

    @api_items
    def iter_outputs(self, run_uid: str, *, page_size: int | None = None) -> Items[dict[str, Any]]:
        """Every result of an async run, following the ``X-Pagination-Next`` URL."""
        size = page_size or ASSUMPTIONS["outputs_page_size"]
        request = ApiRequest("GET", f"/runs/{_uid(run_uid)}/outputs", params={"limit": size})
        while True:
            response = yield from _answer(request)
            for item in response.body or []:
                yield Item(item)
            next_url = response.headers.get("X-Pagination-Next")
            if not next_url:
                return
            request = ApiRequest("GET", next_url)

    aiter_outputs = iter_outputs.aio

    @api_items
    def iter_inputs(self, run_uid: str, *, page_size: int | None = None) -> Items[dict[str, Any]]:
        """Every input of a run with its status and error (``limit``/``offset`` paging)."""
        size = page_size or ASSUMPTIONS["inputs_page_size"]
        path = f"/runs/{_uid(run_uid)}/inputs"
        yield from _offset_pages(path, lambda offset: {"limit": size, "offset": offset}, size)

    aiter_inputs = iter_inputs.aio

    # -- schedules -------------------------------------------------------------------------
    @api_call
    def list_schedules(
        self, *, filters: Mapping[str, Any] | None = None, sort: Any = None, limit: int = 10, offset: int = 0
    ) -> Call[list[dict[str, Any]]]:
        """One page of ``GET /schedules`` (filters ``uid``, ``status``, ``user_uid``, ``action_name``)."""
        return (yield from _listing("/schedules", schedule_list_params(filters, sort, limit, offset)))

    alist_schedules = list_schedules.aio

    @api_items
    def iter_schedules(
        self, *, filters: Mapping[str, Any] | None = None, page_size: int = 100
    ) -> Items[dict[str, Any]]:
        """Every matching schedule, lazily."""
        yield from _offset_pages(
            "/schedules", lambda offset: schedule_list_params(filters, None, page_size, offset), page_size
        )

    aiter_schedules = iter_schedules.aio

    @api_call
    def get_schedule(self, schedule_uid: str) -> Call[dict[str, Any]]:
        """A schedule object."""
        return _obj((yield ApiRequest("GET", f"/schedules/{_schedule(schedule_uid)}")).body)

    aget_schedule = get_schedule.aio

    @api_call
    def schedule_action(self, schedule_uid: str, action: str) -> Call[dict[str, Any]]:
        """``pause``, ``resume`` or ``cancel`` (cancel is the delete) a schedule."""
        if action not in ("pause", "resume", "cancel"):
            raise ValueError("schedule action must be pause, resume or cancel")
        path = f"/schedules/{_schedule(schedule_uid)}/{action}"
        return _obj((yield ApiRequest("POST", path, idempotent=True)).body or {})

    aschedule_action = schedule_action.aio

    # -- callbacks -------------------------------------------------------------------------
    @api_call
    def list_callbacks(
        self, *, run_uid: str | None = None, status: Sequence[str] | None = None, limit: int = 20
    ) -> Call[list[dict[str, Any]]]:
        """Callback delivery records."""
        return (yield from _listing("/runs/callbacks", callback_list_params(run_uid, status, limit)))

    alist_callbacks = list_callbacks.aio

    # -- the run interface -------------------------------------------------------------------
    @api_call
    def get_status(self, run_id: str) -> Call[RunStatus]:
        """Poll the light status; read the full run for ``last_error`` when it needs attention.

        A run group (a batch split into several runs) is polled run by run and combined by
        :func:`~airflow_provider_runs.hooks.edges_groups.combine_statuses`.
        """
        group = RunGroup.parse(run_id)
        if group.is_split:
            parts = []
            for uid in group:
                parts.append((uid, (yield from self.get_status.steps(uid))))
            return combine_statuses(parts)
        status = complete_status((yield from self.get_run_status.steps(group.first)))
        return status if status is not None else status_of((yield from self.get_run.steps(group.first)))

    aget_status = get_status.aio

    @classmethod
    def member_runs(cls, run_id: str) -> tuple[str, ...]:
        """The runs of a run group (a batch split into several runs; one uid is a group of one)."""
        return RunGroup.parse(run_id).uids

    @api_call
    def batch_status(self, run_ids: Sequence[str]) -> Call[dict[str, RunStatus]]:
        """Statuses of many runs from ``GET /runs?uid=<a>&uid=<b>...&limit=<n>``, 100 uids a request.

        The ``uid`` filter is sent as a repeated plain key, as every array filter of this hook
        (spec §1 "Array query params"; §2.4 writes the OpenAPI array name ``uid[]``). The list
        answers full run objects, so each maps as :meth:`get_status` maps a run (``last_error``
        included); a run group is answered when all its members are, combined as
        :meth:`get_status` does. A run missing from the answer, an object without the
        ``last_error`` its state needs, or an id that is not a valid uid is left out (its own
        read decides). A 400 answer (the filter refused) turns batching off for this hook
        instance (:attr:`batch_size` becomes 0): every run is then read on its own.
        """
        groups: dict[str, RunGroup] = {}
        for run_id in dict.fromkeys(run_ids):
            group = RunGroup.parse(run_id)
            try:
                for uid in group:
                    check_path_segment(uid, "run_uid")
            except ValueError:
                continue
            groups[run_id] = group
        wanted = list(dict.fromkeys(uid for group in groups.values() for uid in group))
        found: dict[str, Mapping[str, Any]] = {}
        size = ASSUMPTIONS["list_limit_max"]
        for start in range(0, len(wanted), size):
            page = wanted[start : start + size]
            params = run_list_params({"uid": page}, None, len(page), 0)
            try:
                body = (yield ApiRequest("GET", "/runs", params=params)).body
            except BadRequestError as exc:  # the filter refused (e.g. a server wanting ``uid[]``)
                self.batch_size = 0
                self.log.warning("Edges refused to list runs by uid (%s); polling each run on its own.", exc)
                break
            for item in body if isinstance(body, list) else ():
                if isinstance(item, dict) and item.get("uid") in page:
                    found[item["uid"]] = item
        statuses: dict[str, RunStatus] = {}
        for run_id, group in groups.items():
            parts = [(uid, complete_status(found[uid]) if uid in found else None) for uid in group]
            complete = [(uid, status) for uid, status in parts if status is not None]
            if len(complete) < len(parts):
                continue
            statuses[run_id] = combine_statuses(complete) if group.is_split else complete[0][1]
        return statuses

    abatch_status = batch_status.aio

    def run_url(self, run_id: str) -> str:
        """The URL of the run (of the first run of a run group)."""
        return super().run_url(RunGroup.parse(run_id).first)

    @api_call
    def cancel_run(self, run_id: str) -> Call[None]:
        """Edges has no run-cancel endpoint: the run keeps going (logged; no request is sent)."""
        yield from ()
        self.log.warning(
            "Edges has no run-cancel endpoint; run %s keeps going: %s", run_id, self.run_url(run_id)
        )

    acancel_run = cancel_run.aio

    @api_call
    def check_connection(self) -> Call[None]:
        """``GET /workspaces``: the documented authenticated sanity call."""
        yield ApiRequest("GET", "/workspaces")
