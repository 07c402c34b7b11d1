"""Edges: run actions live, async (up to 100,000 inputs) or on a schedule (``specs/edges.md``).

The spec has four status vocabularies, each mapped in its own table here: the run
(:data:`RUN_STATES`, the one the operators wait on), the async launch handle
(:data:`HANDLE_STATES`), each input (:data:`INPUT_STATES`) and schedules
(:data:`SCHEDULE_STATES`). Where the spec marks an assumption, the value lives in
:data:`ASSUMPTIONS` so it is easy to change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import quote

from airflow_provider_runs.core.errors import BadRequestError, RunsApiError
from airflow_provider_runs.core.http import ApiRequest, StreamedJson
from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.base import RunsHook, ServiceSettings, json_object, path_segment
from airflow_provider_runs.services import EDGES
from airflow_provider_runs.validation import (
    InvalidArgumentError,
    check_json,
    check_path_segment,
    parse_datetime,
)

_obj = partial(json_object, service="edges", label="Edges")
_uid = partial(path_segment, what="run_uid")

RUN_STATES: dict[str, RunState] = {
    "CREATED": RunState.QUEUED,
    "QUEUED": RunState.QUEUED,
    "SCHEDULED": RunState.QUEUED,
    "RUNNING": RunState.RUNNING,
    "INVALID": RunState.FAILED,
    "BLOCKED": RunState.NEEDS_ACTION,
    "STOPPED": RunState.NEEDS_ACTION,
    "FAILED": RunState.FAILED,
    "PARTIAL_SUCCEEDED": RunState.PARTIAL,
    "SUCCEEDED": RunState.SUCCEEDED,
}
"""Run statuses (run object, status endpoint, list filter)."""

HANDLE_STATES: dict[str, RunState] = {
    "pending": RunState.QUEUED,
    "running": RunState.RUNNING,
    "completed": RunState.SUCCEEDED,
    "failed": RunState.FAILED,
}
"""The async launch handle's lowercase statuses (only a first hint: the run is polled after)."""

INPUT_STATES: dict[str, RunState] = {
    "CREATED": RunState.QUEUED,
    "QUEUED": RunState.QUEUED,
    "SCHEDULED": RunState.QUEUED,
    "RUNNING": RunState.RUNNING,
    "BLOCKED": RunState.NEEDS_ACTION,
    "FAILED": RunState.FAILED,
    "SUCCEEDED": RunState.SUCCEEDED,
    "STOPPED": RunState.CANCELLED,
}
"""Per-input statuses of ``GET /runs/{uid}/inputs``."""

SCHEDULE_STATES: dict[str, str] = {
    "ACTIVE": "active",
    "PAUSED": "paused",
    "CANCELLED": "cancelled",
    "COMPLETED": "completed",
}
"""Schedule statuses (``COMPLETED`` = a one-shot schedule that already ran)."""

FAILED_INPUT_STATUSES = ("FAILED", "BLOCKED")
"""Inputs reported as failed (with their errors) for a partial run."""

ASSUMPTIONS: dict[str, Any] = {
    "max_async_inputs": 100_000,  # §2.2
    "max_schedule_inputs": 100,  # §2.3 / §8 #8
    "list_limit_max": 100,  # §2.4
    "outputs_page_size": 100,  # §8 #12: clients stay at <= 100
    "inputs_page_size": 100,  # §2.7
    "callbacks_limit_max": 20,  # §2.10
    "sort_fields": ("created_at", "updated_at", "status"),  # §8 #11
    "max_sort_items": 10,  # §1
    "schedule_uid_keys": ("scheduled_run_uid", "schedule_run_uid", "uid"),  # §2.3
    "live_timeout": 60.0,  # §8 #7
}
"""The spec's marked assumptions, in one place."""

ACTION_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
UUID_RE = re.compile(r"^[0-9a-fA-F-]{8,64}$")
IDENTITY_MODES = ("direct", "auto", "managed")
RUN_LIST_FILTERS = (
    "status",
    "action_name",
    "execution_mode",
    "uid",
    "user_uid",
    "workspace_uid",
    "flow_run_id",
)


def interpret_status(status: Any, *, last_error: Any = None, postponed_until: Any = None) -> RunStatus:
    """Map an Edges run status to a :class:`RunStatus` (the run state table)."""
    if not isinstance(status, str):
        return RunStatus(RunState.UNKNOWN, status, f"unrecognized status value {status!r}")
    state = RUN_STATES.get(status.upper(), RunState.UNKNOWN)
    message = None
    details: dict[str, Any] = {}
    if isinstance(last_error, dict) and last_error:
        label, text = last_error.get("label"), last_error.get("message")
        message = f"{label}: {text}" if label and text else (text or label)
        details["last_error"] = {"label": label, "message": text}
        params = last_error.get("params")
        if isinstance(params, dict) and params.get("postponed_until") and not postponed_until:
            postponed_until = params["postponed_until"]
    if postponed_until:
        details["postponed_until"] = str(postponed_until)
    return RunStatus(state, status, message, details)


def parse_error_body(status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
    """Read the Edges error body (``error_label``, ``message``, ``params``) or the raw text."""
    if isinstance(body, dict):
        label = body.get("error_label") or body.get("label")
        message = body.get("message")
        params = body.get("params")
        if isinstance(params, dict) and params.get("postponed_until"):
            message = f"{message} (postponed until {params['postponed_until']})"
        if message or label:
            return (str(message) if message else None), (str(label) if label else None)
    snippet = (text or "").strip()
    return (snippet[:500] or None), None


def check_action(action: Any) -> str:
    """Check an action slug."""
    if not isinstance(action, str) or not ACTION_SLUG.match(action):
        raise ValueError(f"action must be an action slug such as 'linkedin-extract-people'; got {action!r}")
    return action


def check_identity(identity_mode: Any, identity_ids: Any) -> None:
    """Check identity mode and ids (``direct`` needs ids)."""
    if identity_mode is not None and identity_mode not in IDENTITY_MODES:
        raise ValueError(f"identity_mode must be one of {', '.join(IDENTITY_MODES)}; got {identity_mode!r}")
    if identity_ids is not None:
        if isinstance(identity_ids, str) or not isinstance(identity_ids, Sequence):
            raise ValueError("identity_ids must be a list of identity UIDs")
        bad = [i for i in identity_ids if not isinstance(i, str) or not UUID_RE.match(i)]
        if bad:
            raise ValueError(f"identity_ids must be UUIDs; got {bad[:3]!r}")
    if identity_mode == "direct" and not identity_ids:
        raise ValueError('identity_mode="direct" needs identity_ids')


def check_input(item: Any, where: str) -> None:
    """One input must be a JSON object (strict JSON: no NaN, only JSON types)."""
    if not isinstance(item, Mapping):
        raise ValueError(f"{where} must be a JSON object, got {type(item).__name__}")
    check_json(item, where)


def check_schedule(cron: Any, timezone: Any, schedule_at: Any) -> str | None:
    """Check a schedule's ``cron``, ``timezone`` and ``schedule_at``; return ``schedule_at`` as
    an ISO 8601 string with offset (a value without one is taken as UTC), or ``None``."""
    if cron is not None and (not isinstance(cron, str) or len(cron.split()) != 5 or len(cron) > 256):
        raise ValueError(f"cron must be a 5-field cron expression (min hour dom mon dow); got {cron!r}")
    if timezone is not None and (not isinstance(timezone, str) or not 1 <= len(timezone) <= 64):
        raise ValueError("timezone must be an IANA time zone name")
    if timezone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {timezone!r} is not an IANA time zone") from None
    when = parse_datetime(schedule_at, "schedule_at")
    return when.isoformat() if when is not None else None


def check_sort(sort: Any) -> list[str] | None:
    """Check ``sort`` (field names from the whitelist, ``-`` prefix for descending)."""
    if sort is None:
        return None
    items = [sort] if isinstance(sort, str) else list(sort)
    if not items or len(items) > ASSUMPTIONS["max_sort_items"]:
        raise ValueError(f"sort takes 1 to {ASSUMPTIONS['max_sort_items']} fields")
    for item in items:
        if not isinstance(item, str) or item.lstrip("-") not in ASSUMPTIONS["sort_fields"]:
            raise ValueError(f"sort field {item!r} is not one of {', '.join(ASSUMPTIONS['sort_fields'])}")
    return items


def check_callback(callback: Any) -> dict[str, Any] | None:
    """Check a callback object ``{url, headers?, on?}``."""
    if callback is None:
        return None
    if not isinstance(callback, Mapping) or not isinstance(callback.get("url"), str):
        raise ValueError("callback must be an object with a 'url'")
    if not callback["url"].startswith(("https://", "http://")):
        raise ValueError(f"callback url must be an https URL; got {callback['url']!r}")
    if callback.get("on") not in (None, "all", "final"):
        raise ValueError("callback 'on' must be 'all' or 'final'")
    if callback.get("headers") is not None and not isinstance(callback["headers"], Mapping):
        raise ValueError("callback headers must be an object")
    return dict(callback)


class InputsTooManyError(InvalidArgumentError):
    """More inputs than one run accepts."""


def streamed_launch_body(
    inputs_factory: Callable[[], Iterable[Mapping[str, Any]]], fields: Mapping[str, Any]
) -> StreamedJson:
    """``{"inputs": [...], <fields>}`` written input by input (never the whole list in memory)."""

    def chunks() -> Iterator[bytes]:
        yield b'{"inputs":['
        first = True
        batch: list[str] = []
        for item in inputs_factory():
            batch.append(("" if first else ",") + json.dumps(item, separators=(",", ":")))
            first = False
            if len(batch) >= 500:
                yield "".join(batch).encode()
                batch = []
        if batch:
            yield "".join(batch).encode()
        rest = json.dumps(dict(fields), separators=(",", ":"))[1:-1]
        yield (b"]," + rest.encode() + b"}") if rest else b"]}"

    return StreamedJson(chunks, "action inputs")


class EdgesHook(RunsHook):
    """Hook for the Edges actions and runs API.

    The connection (type ``edges``) holds the API key as its password (sent as ``X-API-Key``),
    the API base URL as its host (default ``https://api.edges.run/v1``), and optional defaults:
    ``identity_mode``, ``identity_ids`` (comma-separated UUIDs) and ``callback_url``.

    :param edges_conn_id: the connection id (default ``edges_default``).
    """

    descriptor = EDGES
    supports_cancel = False

    def __init__(self, edges_conn_id: str = EDGES.default_conn_id, **kwargs: Any) -> None:
        super().__init__(edges_conn_id, **kwargs)

    def settings_from_connection(self, conn: Any, extras: Mapping[str, Any]) -> ServiceSettings:
        """Read the connection; check the identity defaults."""
        settings = super().settings_from_connection(conn, extras)
        check_identity(extras.get("identity_mode") or None, self._ids(extras.get("identity_ids")))
        return settings

    @staticmethod
    def _ids(value: Any) -> list[str] | None:
        if value in (None, ""):
            return None
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return list(value)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """``X-API-Key: <key>`` (not a Bearer token)."""
        return {"X-API-Key": api_key}

    def error_parser(self, status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
        """Read the Edges error body."""
        return parse_error_body(status_code, body, text)

    def default_run_url(self, base_url: str, run_id: str) -> str:
        """The run's API URL (Edges has no dashboard for runs)."""
        return f"{base_url}/runs/{quote(run_id, safe='')}"

    def identity_fields(
        self, identity_mode: str | None, identity_ids: Sequence[str] | None
    ) -> dict[str, Any]:
        """Identity fields of a launch body, falling back to the connection's defaults."""
        extras = self.settings.extras
        mode = identity_mode or extras.get("identity_mode") or None
        ids = list(identity_ids) if identity_ids else self._ids(extras.get("identity_ids"))
        check_identity(mode, ids)
        fields: dict[str, Any] = {}
        if mode:
            fields["identity_mode"] = mode
        if ids:
            fields["identity_ids"] = ids
        return fields

    def default_callback(self) -> dict[str, Any] | None:
        """The connection's ``callback_url`` as a final-only callback, if set."""
        url = self.settings.extras.get("callback_url")
        return {"url": url, "on": "final"} if url else None

    # -- launching -----------------------------------------------------------------------
    def run_live(
        self,
        action: str,
        input: Mapping[str, Any],
        *,
        parameters: Mapping[str, Any] | None = None,
        identity_mode: str | None = None,
        identity_ids: Sequence[str] | None = None,
        next_url: str | None = None,
    ) -> tuple[Any, str | None]:
        """Run an action live on one input; return ``(result, next page URL or None)``."""
        check_action(action)
        check_input(input, "input")
        body: dict[str, Any] = {"input": dict(input), **self.identity_fields(identity_mode, identity_ids)}
        if parameters is not None:
            if not isinstance(parameters, Mapping):
                raise ValueError("parameters must be a JSON object")
            body["parameters"] = dict(parameters)
        path = next_url or f"/actions/{path_segment(action, 'action')}/run/live"
        req = ApiRequest(
            "POST", path, json_body=body, idempotent=False, read_timeout=ASSUMPTIONS["live_timeout"]
        )
        resp = self.send(req)
        return resp.body, resp.headers.get("X-Pagination-Next") or None

    def iter_live_pages(self, action: str, input: Mapping[str, Any], *, max_pages: int = 10, **kwargs: Any):
        """Yield each page of a paginated live action, following ``X-Pagination-Next``."""
        if not isinstance(max_pages, int) or max_pages < 1:
            raise ValueError(f"max_pages must be a positive integer; got {max_pages!r}")
        next_url = None
        for _ in range(max_pages):
            page, next_url = self.run_live(action, input, next_url=next_url, **kwargs)
            yield page
            if not next_url:
                return

    def launch_body_fields(
        self,
        *,
        parameters: Mapping[str, Any] | None,
        callback: Mapping[str, Any] | None,
        identity_mode: str | None,
        identity_ids: Sequence[str] | None,
        name: str | None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The non-input fields of an async/schedule launch body, checked."""
        fields: dict[str, Any] = dict(self.identity_fields(identity_mode, identity_ids))
        if parameters is not None:
            if not isinstance(parameters, Mapping):
                raise ValueError("parameters must be a JSON object")
            fields["parameters"] = dict(parameters)
        # The docs mark ``callback`` required (spec §2.2, §8 #2: "Provider always sends one
        # (on: final)"). Without one configured: a final-only callback to a reserved name that
        # never resolves (RFC 6761 ``.invalid``): a valid URL for the server, delivered to nobody.
        fields["callback"] = (
            check_callback(callback)
            or self.default_callback()
            or {"url": "https://no-callback.invalid/", "on": "final"}
        )
        if name is not None:
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                raise ValueError("name must be a string of 1 to 255 characters")
            fields["name"] = name
        fields.update({k: v for k, v in (extra or {}).items() if v is not None})
        return fields

    def run_async(
        self,
        action: str,
        inputs: Sequence[Mapping[str, Any]] | Callable[[], Iterable[Mapping[str, Any]]],
        *,
        count: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        callback: Mapping[str, Any] | None = None,
        identity_mode: str | None = None,
        identity_ids: Sequence[str] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Launch an async run over 1 to 100,000 inputs; return the launch handle.

        ``inputs`` is a list, or a callable returning a fresh iterable (streamed: inputs are
        never all in memory), then ``count`` must give their number.
        """
        check_action(action)
        factory, total = _inputs_factory(inputs, count)
        _check_count(total, ASSUMPTIONS["max_async_inputs"], "async")
        fields = self.launch_body_fields(
            parameters=parameters,
            callback=callback,
            identity_mode=identity_mode,
            identity_ids=identity_ids,
            name=name,
        )
        body = streamed_launch_body(factory, fields)
        req = ApiRequest(
            "POST",
            f"/actions/{path_segment(action, 'action')}/run/async",
            json_body=body,
            idempotent=False,
            read_timeout=300,
        )
        return _obj(self.send(req).body)

    def run_schedule(
        self,
        action: str,
        inputs: Sequence[Mapping[str, Any]],
        *,
        cron: str | None = None,
        timezone: str | None = None,
        schedule_at: str | datetime | None = None,
        parameters: Mapping[str, Any] | None = None,
        callback: Mapping[str, Any] | None = None,
        identity_mode: str | None = None,
        identity_ids: Sequence[str] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Create a schedule (1-100 inputs, optional 5-field cron); return the schedule object."""
        check_action(action)
        items = list(inputs)
        for i, item in enumerate(items):
            check_input(item, f"inputs[{i}]")
        _check_count(len(items), ASSUMPTIONS["max_schedule_inputs"], "schedule")
        when = check_schedule(cron, timezone, schedule_at)
        fields = self.launch_body_fields(
            parameters=parameters,
            callback=callback,
            identity_mode=identity_mode,
            identity_ids=identity_ids,
            name=name,
            extra={"cron": cron, "timezone": timezone, "schedule_at": when},
        )
        body = {"inputs": items, **fields}
        return _obj(
            self.send(
                ApiRequest(
                    "POST",
                    f"/actions/{path_segment(action, 'action')}/run/schedule",
                    json_body=body,
                    idempotent=False,
                )
            ).body
        )

    # -- runs ------------------------------------------------------------------------------
    def get_run(self, run_uid: str) -> dict[str, Any]:
        """The full run object."""
        return _obj(self.send(ApiRequest("GET", f"/runs/{_uid(run_uid)}")).body)

    def get_run_status(self, run_uid: str) -> dict[str, Any]:
        """The light status object meant for polling."""
        return _obj(self.send(ApiRequest("GET", f"/runs/{_uid(run_uid)}/status")).body)

    async def aget_run_status(self, run_uid: str) -> dict[str, Any]:
        """Async :meth:`get_run_status`."""
        return _obj((await self.asend(ApiRequest("GET", f"/runs/{_uid(run_uid)}/status"))).body)

    def resume_run(self, run_uid: str) -> dict[str, Any]:
        """Resume a BLOCKED or STOPPED run (409 otherwise)."""
        return _obj(self.send(ApiRequest("POST", f"/runs/{_uid(run_uid)}/resume", idempotent=False)).body)

    def continue_run(self, run_uid: str) -> dict[str, Any]:
        """Continue an incremental run (same run uid, new items)."""
        return _obj(self.send(ApiRequest("POST", f"/runs/{_uid(run_uid)}/continue", idempotent=False)).body)

    @staticmethod
    def run_list_params(
        filters: Mapping[str, Any] | None, sort: Any, limit: int, offset: int
    ) -> list[tuple[str, Any]]:
        """Query pairs for ``GET /runs`` (array filters repeat their key)."""
        if not isinstance(limit, int) or not 1 <= limit <= ASSUMPTIONS["list_limit_max"]:
            raise ValueError(f"limit must be between 1 and {ASSUMPTIONS['list_limit_max']}; got {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(f"offset must be a non-negative integer; got {offset!r}")
        params: list[tuple[str, Any]] = [("limit", limit), ("offset", offset)]
        for key, value in (filters or {}).items():
            if key not in RUN_LIST_FILTERS:
                raise ValueError(f"unknown run filter {key!r}; use one of {', '.join(RUN_LIST_FILTERS)}")
            values = [value] if isinstance(value, str | int) else list(value)
            if not values:
                raise ValueError(f"filter {key!r} needs at least one value")
            if key == "status":
                bad = [v for v in values if v not in RUN_STATES]
                if bad:
                    raise ValueError(f"unknown run status {bad[0]!r}; use one of {', '.join(RUN_STATES)}")
            params.extend((key, v) for v in values)
        for item in check_sort(sort) or []:
            params.append(("sort", item))
        return params

    def list_runs(
        self, *, filters: Mapping[str, Any] | None = None, sort: Any = None, limit: int = 10, offset: int = 0
    ) -> list[dict[str, Any]]:
        """One page of ``GET /runs``."""
        params = self.run_list_params(filters, sort, limit, offset)
        return list(self.send(ApiRequest("GET", "/runs", params=params)).body or [])

    def iter_runs(
        self, *, filters: Mapping[str, Any] | None = None, sort: Any = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every matching run, lazily, page by page (``limit``/``offset``; a short page ends it)."""
        offset = 0
        while True:
            page = self.list_runs(filters=filters, sort=sort, limit=page_size, offset=offset)
            yield from page
            if len(page) < page_size:
                return
            offset += len(page)

    def iter_outputs(self, run_uid: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every result of an async run, following the ``X-Pagination-Next`` URL."""
        size = page_size or ASSUMPTIONS["outputs_page_size"]
        req = ApiRequest("GET", f"/runs/{_uid(run_uid)}/outputs", params={"limit": size})
        while True:
            resp = self.send(req)
            yield from resp.body or []
            next_url = resp.headers.get("X-Pagination-Next")
            if not next_url:
                return
            req = ApiRequest("GET", next_url)

    def iter_inputs(self, run_uid: str, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every input of a run with its status and error (``limit``/``offset`` paging)."""
        size = page_size or ASSUMPTIONS["inputs_page_size"]
        offset = 0
        while True:
            params = {"limit": size, "offset": offset}
            page = self.send(ApiRequest("GET", f"/runs/{_uid(run_uid)}/inputs", params=params)).body or []
            yield from page
            if len(page) < size:
                return
            offset += len(page)

    # -- schedules -------------------------------------------------------------------------
    def list_schedules(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        sort: Any = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """One page of ``GET /schedules`` (filters ``uid``, ``status``, ``user_uid``, ``action_name``)."""
        params: list[tuple[str, Any]] = [("limit", limit), ("offset", offset)]
        for key, value in (filters or {}).items():
            if key not in ("uid", "status", "user_uid", "action_name", "workspace_uid"):
                raise ValueError(f"unknown schedule filter {key!r}")
            values = [value] if isinstance(value, str) else list(value)
            params.extend((key, v) for v in values)
        for item in check_sort(sort) or []:
            params.append(("sort", item))
        return list(self.send(ApiRequest("GET", "/schedules", params=params)).body or [])

    def iter_schedules(self, *, filters: Mapping[str, Any] | None = None, page_size: int = 100):
        """Every matching schedule, lazily."""
        offset = 0
        while True:
            page = self.list_schedules(filters=filters, limit=page_size, offset=offset)
            yield from page
            if len(page) < page_size:
                return
            offset += len(page)

    def get_schedule(self, schedule_uid: str) -> dict[str, Any]:
        """A schedule object."""
        path = f"/schedules/{path_segment(schedule_uid, 'schedule_uid')}"
        return _obj(self.send(ApiRequest("GET", path)).body)

    def schedule_action(self, schedule_uid: str, action: str) -> dict[str, Any]:
        """``pause``, ``resume`` or ``cancel`` (cancel is the delete) a schedule."""
        if action not in ("pause", "resume", "cancel"):
            raise ValueError("schedule action must be pause, resume or cancel")
        path = f"/schedules/{path_segment(schedule_uid, 'schedule_uid')}/{action}"
        return _obj(self.send(ApiRequest("POST", path, idempotent=True)).body or {})

    # -- callbacks -------------------------------------------------------------------------
    def list_callbacks(
        self, *, run_uid: str | None = None, status: Sequence[str] | None = None, limit: int = 20
    ):
        """Callback delivery records."""
        if not 1 <= limit <= ASSUMPTIONS["callbacks_limit_max"]:
            raise ValueError(f"limit must be between 1 and {ASSUMPTIONS['callbacks_limit_max']}")
        params: list[tuple[str, Any]] = [("limit", limit)]
        if run_uid:
            params.append(("run_uid", run_uid))
        params.extend(("status", s) for s in status or [])
        return list(self.send(ApiRequest("GET", "/runs/callbacks", params=params)).body or [])

    # -- the run interface -------------------------------------------------------------------
    def _status_from(self, body: Mapping[str, Any]) -> RunStatus:
        return interpret_status(
            body.get("status"), last_error=body.get("last_error"), postponed_until=body.get("postponed_until")
        )

    def _complete_status(self, body: Mapping[str, Any]) -> RunStatus | None:
        """The status of a status or run object; ``None`` when the state needs the run's
        ``last_error`` (:data:`NEEDS_DETAILS`) and the object does not carry it."""
        status = self._status_from(body)
        if status.state in NEEDS_DETAILS and "last_error" not in body:
            return None
        return status

    def get_status(self, run_id: str) -> RunStatus:
        """Poll the light status; read the full run for ``last_error`` when it needs attention.

        A run group (``uid1,uid2,...``, a batch split into several runs) is polled run by run and
        combined by :func:`combine_statuses`.
        """
        if GROUP_SEPARATOR in run_id:
            return combine_statuses([(uid, self.get_status(uid)) for uid in split_group(run_id)])
        status = self._complete_status(self.get_run_status(run_id))
        return status if status is not None else self._status_from(self.get_run(run_id))

    async def aget_status(self, run_id: str) -> RunStatus:
        """Async :meth:`get_status`."""
        if GROUP_SEPARATOR in run_id:
            return combine_statuses([(uid, await self.aget_status(uid)) for uid in split_group(run_id)])
        status = self._complete_status(await self.aget_run_status(run_id))
        if status is None:
            full = _obj((await self.asend(ApiRequest("GET", f"/runs/{_uid(run_id)}"))).body)
            status = self._status_from(full)
        return status

    batch_size = ASSUMPTIONS["list_limit_max"]
    """Run uids per ``GET /runs`` (its ``limit`` is at most 100, spec §2.4)."""

    def batch_cost(self, run_id: str) -> int:
        """A run group takes one place per member run."""
        return max(1, len(split_group(run_id)))

    async def abatch_status(self, run_ids: Sequence[str]) -> dict[str, RunStatus]:
        """Statuses of many runs from ``GET /runs?uid=<a>&uid=<b>...&limit=<n>``, 100 uids a request.

        The ``uid`` filter is sent as a repeated plain key, as every array filter of this hook
        (spec §1 "Array query params"; §2.4 writes the OpenAPI array name ``uid[]``). The list
        answers full run objects, so each maps as :meth:`aget_status` maps a run (``last_error``
        included); a run group is answered when all its members are, combined as
        :meth:`aget_status` does. A run missing from the answer, an object without the
        ``last_error`` its state needs, or an id that is not a valid uid is left out (its own
        read decides). A 400 answer (the filter refused) turns batching off for this hook
        instance (:attr:`batch_size` becomes 0): every run is then read on its own.
        """
        members: dict[str, list[str]] = {}
        for run_id in dict.fromkeys(run_ids):
            try:
                uids = [check_path_segment(uid, "run_uid") for uid in split_group(run_id)]
            except ValueError:
                continue
            if uids:
                members[run_id] = uids
        wanted = list(dict.fromkeys(uid for uids in members.values() for uid in uids))
        found: dict[str, Mapping[str, Any]] = {}
        size = ASSUMPTIONS["list_limit_max"]
        for start in range(0, len(wanted), size):
            page = wanted[start : start + size]
            params = self.run_list_params({"uid": page}, None, len(page), 0)
            try:
                body = (await self.asend(ApiRequest("GET", "/runs", params=params))).body
            except BadRequestError as exc:  # the filter refused (e.g. a server wanting ``uid[]``)
                self.batch_size = 0
                self.log.warning("Edges refused to list runs by uid (%s); polling each run on its own.", exc)
                break
            for item in body if isinstance(body, list) else ():
                if isinstance(item, dict) and item.get("uid") in page:
                    found[item["uid"]] = item
        statuses: dict[str, RunStatus] = {}
        for run_id, uids in members.items():
            parts = [(uid, self._complete_status(found[uid]) if uid in found else None) for uid in uids]
            if any(status is None for _, status in parts):
                continue
            complete = [(uid, status) for uid, status in parts if status is not None]
            statuses[run_id] = combine_statuses(complete) if GROUP_SEPARATOR in run_id else complete[0][1]
        return statuses

    def cancel_run(self, run_id: str) -> None:
        """Edges has no run-cancel endpoint: the run keeps going."""
        self.log.warning(
            "Edges has no run-cancel endpoint; run %s keeps going: %s", run_id, self.run_url(run_id)
        )

    async def acancel_run(self, run_id: str) -> None:
        """Async :meth:`cancel_run`."""
        self.cancel_run(run_id)

    def check_connection(self) -> None:
        """``GET /workspaces``: the documented authenticated sanity call."""
        self.send(ApiRequest("GET", "/workspaces"))


GROUP_SEPARATOR = ","
"""Joins the run uids of a batch split into several runs (a "run group", waited on together)."""
NEEDS_DETAILS = (RunState.NEEDS_ACTION, RunState.FAILED, RunState.PARTIAL)


def split_group(run_id: str) -> list[str]:
    """The run uids of a run group (a single uid is a group of one)."""
    return [uid for uid in run_id.split(GROUP_SEPARATOR) if uid]


def combine_statuses(parts: list[tuple[str, RunStatus]]) -> RunStatus:
    """One status for a run group: it waits while any run waits, needs action when one does,
    succeeds when all succeed, fails when all fail, and is partial otherwise."""
    for uid, status in parts:
        if status.state is RunState.NEEDS_ACTION:
            return RunStatus(
                status.state,
                status.raw_status,
                f"run {uid}: {status.message}",
                {**status.details, "run_uid": uid},
            )
    waiting = [(uid, s) for uid, s in parts if not s.state.is_terminal]
    if waiting:
        uid, status = waiting[0]
        return RunStatus(status.state, status.raw_status, status.message, {**status.details, "run_uid": uid})
    states = {s.state for _, s in parts}
    messages = "; ".join(f"run {uid}: {s.message}" for uid, s in parts if s.message)
    if states == {RunState.SUCCEEDED}:
        return RunStatus(RunState.SUCCEEDED, "SUCCEEDED", None, {"runs": len(parts)})
    if states <= {RunState.FAILED, RunState.CANCELLED}:
        return RunStatus(RunState.FAILED, "FAILED", messages or None, {"runs": len(parts)})
    return RunStatus(RunState.PARTIAL, "PARTIAL_SUCCEEDED", messages or None, {"runs": len(parts)})


def schedule_uid(schedule: Mapping[str, Any]) -> str:
    """The schedule's uid, whichever key the server used (spec assumption §2.3)."""
    for key in ASSUMPTIONS["schedule_uid_keys"]:
        if schedule.get(key):
            return str(schedule[key])
    raise RunsApiError(f"Edges returned a schedule without a uid: keys {sorted(schedule)}", service="edges")


def _inputs_factory(inputs: Any, count: int | None) -> tuple[Callable[[], Iterable[Mapping[str, Any]]], int]:
    if callable(inputs):
        if count is None:
            raise ValueError("count is required when inputs is streamed from a callable")
        return inputs, count
    if isinstance(inputs, str | bytes | Mapping) or not isinstance(inputs, Sequence):
        raise ValueError("inputs must be a list of JSON objects")
    for i, item in enumerate(inputs):
        check_input(item, f"inputs[{i}]")
    return (lambda: inputs), len(inputs)


def _check_count(total: int, maximum: int, mode: str) -> None:
    if total < 1:
        raise ValueError(f"inputs must hold at least one input for {mode} mode")
    if total > maximum:
        raise InputsTooManyError(
            f"{mode} mode takes at most {maximum:,} inputs per run; got {total:,} "
            "(split them into several runs)"
        )
