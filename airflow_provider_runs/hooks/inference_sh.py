"""inference.sh: run app tasks, poll them, cancel them (spec: ``specs/inference_sh.md``).

The state table is :func:`interpret_status`. The service renumbered its status codes on
2026-01-10; both numberings are understood:

- a status **name** (a string ``status`` or a ``status_text`` field) always wins;
- otherwise the connection's ``status_numbering`` extra decides: ``current`` (10 completed,
  11 failed, 12 cancelled, 13 rejected), ``legacy`` (9 completed, 10 failed, 11 cancelled), or
  ``auto`` (the default), which is safe under both: 0-9 keep waiting (9 is "uploading" now),
  10 succeeds only when the task's ``error`` is empty, 11 fails (reported as cancelled when
  the task has no error text, as a legacy cancel has none), 12 is cancelled, 13 rejected.
  A task stuck at 9 until the deadline is reported as possibly completed under the legacy
  numbering, with a hint to set ``status_numbering="legacy"``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Literal
from urllib.parse import quote

from airflow_provider_runs.core.errors import BadRequestError, ConflictError, RunsApiError
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.base import RunsHook, ServiceSettings, json_object, path_segment
from airflow_provider_runs.services import INFERENCE_SH
from airflow_provider_runs.validation import check_json, check_path_segment, parse_datetime

_task = partial(json_object, service="inference_sh", label="inference.sh")
_tid = partial(path_segment, what="task_id")
_sid = partial(path_segment, what="session_id")

StatusNumbering = Literal["auto", "legacy", "current"]
STATUS_NUMBERINGS: tuple[str, ...] = ("auto", "legacy", "current")
INFRA_CHOICES: tuple[str, ...] = ("cloud", "private", "private_first")

NAME_TO_STATE: dict[str, RunState] = {
    "unknown": RunState.UNKNOWN,
    "received": RunState.QUEUED,
    "queued": RunState.QUEUED,
    "scheduled": RunState.QUEUED,
    "dispatched": RunState.QUEUED,
    "preparing": RunState.RUNNING,
    "serving": RunState.RUNNING,
    "setting_up": RunState.RUNNING,
    "running": RunState.RUNNING,
    "cancelling": RunState.RUNNING,
    "uploading": RunState.RUNNING,
    "completed": RunState.SUCCEEDED,
    "failed": RunState.FAILED,
    "cancelled": RunState.CANCELLED,
    "rejected": RunState.FAILED,
}
"""Status names (lowercase, as streams and list filters use them) to normalized states."""

CURRENT_CODES: dict[int, str] = {
    0: "unknown",
    1: "received",
    2: "queued",
    3: "dispatched",
    4: "preparing",
    5: "serving",
    6: "setting_up",
    7: "running",
    8: "cancelling",
    9: "uploading",
    10: "completed",
    11: "failed",
    12: "cancelled",
    13: "rejected",
}
"""The numbering in force since 2026-01-10."""

LEGACY_CODES: dict[int, str] = {
    0: "unknown",
    1: "received",
    2: "queued",
    3: "scheduled",
    4: "preparing",
    5: "serving",
    6: "setting_up",
    7: "running",
    8: "uploading",
    9: "completed",
    10: "failed",
    11: "cancelled",
}
"""The numbering up to 2026-01-10 (the original docs page)."""

TERMINAL_CANDIDATE_CODES = frozenset({9, 10, 11, 12, 13})
"""Codes that are terminal under at least one numbering: the full task is read to decide."""

_APP_REF = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*(@[\w.-]+)?(:[A-Za-z_][\w-]*)?$")
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_FUNCTION = re.compile(r"^[A-Za-z_][\w-]{0,127}$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


def interpret_status(
    status: Any,
    *,
    error: str | None = None,
    status_text: str | None = None,
    numbering: StatusNumbering = "auto",
) -> RunStatus:
    """Map an inference.sh status to a :class:`RunStatus` (the state table).

    :param status: the ``status`` field: an int code or a lowercase name.
    :param error: the task's ``error`` text, when the full task was read.
    :param status_text: the ``status_text`` field, when the server sent one.
    :param numbering: how to read integer codes: ``auto``, ``legacy`` or ``current``.
    """
    message = error or None
    name = None
    if isinstance(status_text, str) and status_text.strip():
        name = status_text.strip().lower()
    elif isinstance(status, str) and not status.strip().lstrip("-").isdigit():
        name = status.strip().lower()
    if name is not None:
        state = NAME_TO_STATE.get(name, RunState.UNKNOWN)
        if name == "rejected" and not message:
            message = "the task was rejected at admission (balance or payment method)"
        return RunStatus(state, status if status is not None else name, message, {"status_name": name})

    code = _as_int(status)
    if code is None:
        return RunStatus(RunState.UNKNOWN, status, f"unrecognized status value {status!r}")
    if numbering == "legacy" and code in LEGACY_CODES:
        name = LEGACY_CODES[code]
    elif numbering == "current" or code not in TERMINAL_CANDIDATE_CODES or code in (12, 13):
        name = CURRENT_CODES.get(code)
    elif code == 9:
        return RunStatus(
            RunState.RUNNING,
            code,
            None,
            {
                "status_name": "uploading",
                "note": "status 9 is 'uploading' now but 'completed' under the legacy numbering; "
                "if tasks stay at 9, set the connection's status_numbering to 'legacy'",
            },
        )
    elif code == 10:
        name = "failed" if error else "completed"
    else:  # 11 under auto: failed now, cancelled under the legacy numbering
        name = "failed" if error else "cancelled"
    if name is None:
        return RunStatus(RunState.UNKNOWN, code, f"unknown status code {code}")
    state = NAME_TO_STATE[name]
    if name == "rejected" and not message:
        message = "the task was rejected at admission (balance or payment method)"
    return RunStatus(state, code, message, {"status_name": name})


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def needs_full_task(status: Any, status_text: Any = None) -> bool:
    """Whether a light status may be terminal, so the full task must be read to decide."""
    if isinstance(status_text, str) and status_text:
        return NAME_TO_STATE.get(status_text.lower(), RunState.UNKNOWN).is_terminal
    if isinstance(status, str) and not status.strip().lstrip("-").isdigit():
        return NAME_TO_STATE.get(status.lower(), RunState.UNKNOWN).is_terminal
    code = _as_int(status)
    return code in TERMINAL_CANDIDATE_CODES


def unwrap(body: Any) -> Any:
    """Apply the spec's robust envelope rule (§1.1): v1, current ``{data, messages}`` or bare."""
    if isinstance(body, dict):
        if isinstance(body.get("success"), bool):
            if body["success"]:
                return body.get("data")
            err = body.get("error") or {}
            raise RunsApiError(
                "inference.sh reported a failure in a 2xx response",
                service="inference_sh",
                remote_message=err.get("message") if isinstance(err, dict) else str(err),
                code=err.get("code") if isinstance(err, dict) else None,
                status_code=body.get("status") if isinstance(body.get("status"), int) else None,
            )
        if "data" in body and set(body) <= {"data", "messages"}:
            return body["data"]
    return body


def parse_error_body(status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
    """Read an inference.sh error: problem+json, legacy v1, the 412 ``errors`` list, or text."""
    if isinstance(body, dict):
        if isinstance(body.get("errors"), list):  # 412 requirements
            parts = []
            for item in body["errors"]:
                if isinstance(item, dict):
                    key = item.get("key")
                    msg = item.get("message") or item.get("type") or ""
                    parts.append(f"{key}: {msg}" if key else str(msg))
            return "; ".join(parts) or "requirements not met", "requirements_not_met"
        err = body.get("error")
        if isinstance(err, dict):  # v1
            return err.get("message"), err.get("code")
        code = None
        if isinstance(body.get("type"), str) and body["type"]:
            code = body["type"].rstrip("/").rsplit("/", 1)[-1]
        for key in ("detail", "title", "message"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key], code or body.get("code")
        if code:
            return None, code
    snippet = (text or "").strip()
    return (snippet[:500] or None), None


def validate_run_request(
    *,
    app: str | None,
    input: Any,
    app_id: str | None = None,
    version_id: str | None = None,
    function: str | None = None,
    setup: Any = None,
    infra: str | None = None,
    workers: Any = None,
    webhook: str | None = None,
    session: str | None = None,
    session_timeout: Any = None,
    run_at: Any = None,
    metadata: Any = None,
) -> None:
    """Check a run request locally; raise ``ValueError`` naming the bad argument."""
    if app is None and not app_id:
        raise ValueError("app is required: give 'namespace/name@version' (or app_id)")
    if app is not None and (not isinstance(app, str) or not _APP_REF.match(app.strip())):
        raise ValueError(
            f"app {app!r} is not a valid app reference: expected 'namespace/name', "
            "'namespace/name@version' or 'namespace/name@version:function'"
        )
    if app_id is not None and (not isinstance(app_id, str) or not app_id.strip()):
        raise ValueError("app_id must be a non-empty string")
    if version_id is not None and (not isinstance(version_id, str) or not version_id.strip()):
        raise ValueError("version_id must be a non-empty string")
    if not isinstance(input, Mapping):
        raise ValueError(f"input must be a JSON object (a dict), got {type(input).__name__}")
    check_json(input, "input")
    if function is not None and (not isinstance(function, str) or not _FUNCTION.match(function)):
        raise ValueError(f"function {function!r} is not a valid function name")
    if setup is not None and not isinstance(setup, Mapping):
        raise ValueError(f"setup must be a JSON object (a dict), got {type(setup).__name__}")
    if setup is not None:
        check_json(setup, "setup")
    if infra is not None and infra not in INFRA_CHOICES:
        raise ValueError(f"infra must be one of {', '.join(INFRA_CHOICES)}; got {infra!r}")
    if workers is not None and (
        isinstance(workers, str)
        or not isinstance(workers, Sequence)
        or not all(isinstance(w, str) and w for w in workers)
    ):
        raise ValueError("workers must be a list of worker id strings")
    if webhook is not None and (not isinstance(webhook, str) or not _URL.match(webhook)):
        raise ValueError(f"webhook must be an http(s) URL; got {webhook!r}")
    if session is not None and (
        not isinstance(session, str) or (session != "new" and not _SESSION_ID.match(session))
    ):
        raise ValueError(f"session must be 'new' or an existing session id; got {session!r}")
    if session_timeout is not None:
        if isinstance(session_timeout, bool) or not isinstance(session_timeout, int):
            raise ValueError(f"session_timeout must be an integer number of seconds; got {session_timeout!r}")
        if not 1 <= session_timeout <= 3600:
            raise ValueError(f"session_timeout must be between 1 and 3600 seconds; got {session_timeout}")
        if session != "new":
            raise ValueError('session_timeout is only valid with session="new"')
    if run_at is not None and not isinstance(run_at, str | datetime):
        raise ValueError("run_at must be an RFC 3339 string or a datetime")
    parse_datetime(run_at, "run_at")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise ValueError("metadata must be a JSON object (a dict)")
    if metadata is not None:
        check_json(metadata, "metadata")


def _rfc3339(run_at: Any) -> str | None:
    """``run_at`` as RFC 3339 with an offset (a value without one is taken as UTC)."""
    when = parse_datetime(run_at, "run_at")
    return when.isoformat() if when is not None else None


class InferenceShHook(RunsHook):
    """Hook for the inference.sh tasks API.

    The connection (type ``inference_sh``) holds the API key as its password and the API base
    URL as its host (default ``https://api.inference.sh``). The extra ``status_numbering``
    (``auto`` | ``legacy`` | ``current``) tells how to read integer status codes; see the module
    docstring for the ``auto`` rule.

    :param inference_sh_conn_id: the connection id (default ``inference_sh_default``).
    :param status_numbering: overrides the connection's ``status_numbering`` extra.
    """

    descriptor = INFERENCE_SH
    supports_cancel = True

    def __init__(
        self,
        inference_sh_conn_id: str = INFERENCE_SH.default_conn_id,
        *,
        status_numbering: StatusNumbering | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(inference_sh_conn_id, **kwargs)
        if status_numbering is not None and status_numbering not in STATUS_NUMBERINGS:
            raise ValueError(f"status_numbering must be one of {STATUS_NUMBERINGS}; got {status_numbering!r}")
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

    def _numbering(self, settings: ServiceSettings) -> StatusNumbering:
        return self._status_numbering_override or settings.extras.get("status_numbering") or "auto"

    def error_parser(self, status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
        """Read problem+json, v1 and 412 error bodies."""
        return parse_error_body(status_code, body, text)

    def default_run_url(self, base_url: str, run_id: str) -> str:
        """The task's API URL (``GET {base}/tasks/{id}``)."""
        return f"{base_url}/tasks/{quote(run_id, safe='')}"

    # -- request builders (shared by the sync and async methods) ---------------------------
    @staticmethod
    def build_run_request(
        app: str | None,
        input: Mapping[str, Any],
        *,
        app_id: str | None = None,
        version_id: str | None = None,
        function: str | None = None,
        setup: Mapping[str, Any] | None = None,
        infra: str | None = None,
        workers: Sequence[str] | None = None,
        webhook: str | None = None,
        session: str | None = None,
        session_timeout: int | None = None,
        run_at: str | datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        wait: bool = False,
    ) -> ApiRequest:
        """Validate and build ``POST /run`` (always ``wait=false`` unless asked)."""
        validate_run_request(
            app=app,
            input=input,
            app_id=app_id,
            version_id=version_id,
            function=function,
            setup=setup,
            infra=infra,
            workers=workers,
            webhook=webhook,
            session=session,
            session_timeout=session_timeout,
            run_at=run_at,
            metadata=metadata,
        )
        body: dict[str, Any] = {"input": dict(input), "wait": bool(wait)}
        optional = {
            "app": app.strip() if isinstance(app, str) else None,
            "app_id": app_id,
            "version_id": version_id,
            "function": function,
            "setup": dict(setup) if setup is not None else None,
            "infra": infra,
            "workers": list(workers) if workers is not None else None,
            "webhook": webhook,
            "session": session,
            "session_timeout": session_timeout,
            "run_at": _rfc3339(run_at),
            "metadata": dict(metadata) if metadata is not None else None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return ApiRequest("POST", "/run", params={"wait": wait}, json_body=body, idempotent=False)

    @staticmethod
    def _list_request(
        *,
        limit: int = 10,
        cursor: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        sort: Sequence[Mapping[str, Any]] | None = None,
        search: Mapping[str, Any] | None = None,
    ) -> ApiRequest:
        if not isinstance(limit, int) or isinstance(limit, bool) or (limit < 1 and limit != -1):
            raise ValueError(f"limit must be a positive integer or -1 (everything); got {limit!r}")
        body: dict[str, Any] = {"limit": limit}
        if cursor:
            body["cursor"] = cursor
        if filters:
            body["filters"] = [dict(f) for f in filters]
        if sort:
            body["sort"] = [dict(s) for s in sort]
        if search:
            body["search"] = dict(search)
        return ApiRequest("POST", "/tasks/list", json_body=body, idempotent=True)

    @staticmethod
    def _cancel_request(task_id: str, force: bool, timeout_ms: int | None) -> ApiRequest:
        body: dict[str, Any] = {"force": force}
        if timeout_ms is not None:
            body["timeout"] = timeout_ms
        return ApiRequest("POST", f"/tasks/{_tid(task_id)}/cancel", json_body=body, idempotent=True)

    def _status_from(self, light: Mapping[str, Any], task: Mapping[str, Any] | None, numbering) -> RunStatus:
        source = task or light
        status = interpret_status(
            source.get("status"),
            error=(task or {}).get("error") or None,
            status_text=source.get("status_text"),
            numbering=numbering,
        )
        details = dict(status.details)
        if task is not None and task.get("session_id"):
            details["session_id"] = task["session_id"]
        return RunStatus(status.state, status.raw_status, status.message, details)

    # -- tasks: sync ---------------------------------------------------------------------
    def run_task(self, app: str | None, input: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Create a task (``POST /run?wait=false``); see :meth:`build_run_request` for arguments.

        Never retried blindly: the service has no idempotency key, so an ambiguous failure
        raises :class:`~airflow_provider_runs.core.errors.AmbiguousWriteError` and the caller
        looks the task up (:meth:`find_task`) before creating another.
        """
        return _task(unwrap(self.send(self.build_run_request(app, input, **kwargs)).body))

    def get_task(self, task_id: str) -> dict[str, Any]:
        """Read the full task (``GET /tasks/{id}``)."""
        return _task(unwrap(self.send(ApiRequest("GET", f"/tasks/{_tid(task_id)}")).body))

    def get_task_status(self, task_id: str) -> dict[str, Any]:
        """Read the light status ``{id, status, updated_at}`` (``GET /tasks/{id}/status``)."""
        return _task(unwrap(self.send(ApiRequest("GET", f"/tasks/{_tid(task_id)}/status")).body))

    def cancel_task(
        self, task_id: str, *, force: bool = False, timeout_ms: int | None = None
    ) -> dict[str, Any]:
        """Cancel a task; a task that already ended (409) is not an error: its state is returned."""
        try:
            body = unwrap(self.send(self._cancel_request(task_id, force, timeout_ms)).body)
        except ConflictError:
            return self.get_task(task_id)
        return body if isinstance(body, dict) else {"id": task_id, "cancelled": True}

    def list_tasks(self, **kwargs: Any) -> dict[str, Any]:
        """One page of ``POST /tasks/list`` (``limit``, ``cursor``, ``filters``, ``sort``, ``search``)."""
        page = unwrap(self.send(self._list_request(**kwargs)).body)
        return page if isinstance(page, dict) else {"items": page or []}

    def iter_tasks(self, *, page_size: int = 50, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Iterate over every matching task, following ``next_cursor`` lazily."""
        cursor = None
        while True:
            page = self.list_tasks(limit=page_size, cursor=cursor, **kwargs)
            yield from page.get("items") or []
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

        Lists tasks newest first and stops at the first one created before ``created_after``.
        A task matches when its ``input`` is equal and every request field it echoes agrees
        (:func:`task_matches_request`): the app reference with its version and function when the
        server echoes one, ``app_id`` / ``app_version_id`` when the request gave ids, ``function``,
        ``setup``, ``infra``, ``workers``, ``webhook``, ``run_at``, ``session_timeout``,
        ``metadata``. The service has no client reference: equal requests still match each other.

        :param request: the other fields of the run request (as for :meth:`build_run_request`).
        """
        found = []
        for item in self.iter_tasks(sort=[{"field": "created_at", "dir": "desc"}]):
            created = _created_at(item)
            if created_after is not None and created is not None and created < created_after:
                break
            if item.get("input") == dict(input) and task_matches_request(item, app, request or {}):
                found.append(item)
        return found

    def task_status(self, task: Mapping[str, Any]) -> RunStatus:
        """The status of a full task object (e.g. a list item), read with this hook's numbering."""
        return self._status_from(task, task, self._numbering(self.settings))

    def get_session(self, session_id: str) -> dict[str, Any]:
        """Read a session (``GET /sessions/{id}``)."""
        return unwrap(self.send(ApiRequest("GET", f"/sessions/{_sid(session_id)}")).body)

    def keepalive_session(self, session_id: str) -> dict[str, Any]:
        """Reset a session's idle timer."""
        path = f"/sessions/{_sid(session_id)}/keepalive"
        return unwrap(self.send(ApiRequest("POST", path, idempotent=True)).body)

    def end_session(self, session_id: str) -> None:
        """End a session and release its worker."""
        self.send(ApiRequest("DELETE", f"/sessions/{_sid(session_id)}"))

    # -- tasks: async --------------------------------------------------------------------
    async def arun_task(self, app: str | None, input: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Async :meth:`run_task`."""
        return _task(unwrap((await self.asend(self.build_run_request(app, input, **kwargs))).body))

    async def aget_task(self, task_id: str) -> dict[str, Any]:
        """Async :meth:`get_task`."""
        return _task(unwrap((await self.asend(ApiRequest("GET", f"/tasks/{_tid(task_id)}"))).body))

    async def aget_task_status(self, task_id: str) -> dict[str, Any]:
        """Async :meth:`get_task_status`."""
        req = ApiRequest("GET", f"/tasks/{_tid(task_id)}/status")
        return _task(unwrap((await self.asend(req)).body))

    async def acancel_task(
        self, task_id: str, *, force: bool = False, timeout_ms: int | None = None
    ) -> dict[str, Any]:
        """Async :meth:`cancel_task`."""
        try:
            body = unwrap((await self.asend(self._cancel_request(task_id, force, timeout_ms))).body)
        except ConflictError:
            return await self.aget_task(task_id)
        return body if isinstance(body, dict) else {"id": task_id, "cancelled": True}

    async def alist_tasks(self, **kwargs: Any) -> dict[str, Any]:
        """Async :meth:`list_tasks`."""
        page = unwrap((await self.asend(self._list_request(**kwargs))).body)
        return page if isinstance(page, dict) else {"items": page or []}

    async def aiter_tasks(self, *, page_size: int = 50, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        """Async :meth:`iter_tasks`."""
        cursor = None
        while True:
            page = await self.alist_tasks(limit=page_size, cursor=cursor, **kwargs)
            for item in page.get("items") or []:
                yield item
            cursor = page.get("next_cursor")
            if not page.get("has_next") or not cursor:
                return

    # -- the run interface ---------------------------------------------------------------
    def get_status(self, run_id: str) -> RunStatus:
        """Poll ``/tasks/{id}/status``; read the full task only when it may be terminal."""
        numbering = self._numbering(self.settings)
        light = self.get_task_status(run_id)
        task = None
        if needs_full_task(light.get("status"), light.get("status_text")):
            task = self.get_task(run_id)
        return self._status_from(light, task, numbering)

    async def aget_status(self, run_id: str) -> RunStatus:
        """Async :meth:`get_status`."""
        numbering = self._numbering(await self.asettings())
        light = await self.aget_task_status(run_id)
        task = None
        if needs_full_task(light.get("status"), light.get("status_text")):
            task = await self.aget_task(run_id)
        return self._status_from(light, task, numbering)

    batch_size = 200
    """Task ids per ``POST /tasks/list`` with an ``id`` ``in`` filter (see :meth:`abatch_status`);
    set to 0 on an instance whose server refuses that filter. 200: the list takes up to 10,000
    (spec §3.5), and at the documented 1000 task reads a minute a sweep of 10,000 tasks every 5 s
    fits only in batches of about 100 or more; 200 leaves room for creates and final reads."""

    async def abatch_status(self, run_ids: Sequence[str]) -> dict[str, RunStatus]:
        """Statuses of many tasks from ``POST /tasks/list`` with
        ``filters: [{"field": "id", "operator": "in", "value": [...]}]`` and ``limit`` = their number.

        **Assumption**: the spec (§3.5) documents the ``in`` operator but not filtering on ``id``.
        A server that answers 400 ``invalid_filter`` turns batching off for this hook instance
        (:attr:`batch_size` becomes 0), and every task is read on its own again.

        A listed task is mapped as :meth:`aget_status` maps it, with the same numbering: the
        light fields alone while the status cannot be terminal, the whole task (``error`` decides
        10 and 11 under ``auto``) when it may be. A task missing from the answer, or a possibly
        terminal one listed without its ``error`` field, is left out (its own read decides).
        """
        size = self.batch_size
        if size <= 0:
            return {}
        numbering = self._numbering(await self.asettings())
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
                page = await self.alist_tasks(limit=len(wanted), filters=filters)
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
                    status = self._listed_status(item, numbering)
                    if status is not None:
                        statuses[item["id"]] = status
        return statuses

    def _listed_status(self, task: Mapping[str, Any], numbering: StatusNumbering) -> RunStatus | None:
        """A listed task's status, read as :meth:`aget_status` reads the light status and then,
        when it may be terminal, the full task; ``None`` when that needs an ``error`` field the
        listed task lacks."""
        full = needs_full_task(task.get("status"), task.get("status_text"))
        if full and "error" not in task:
            return None
        return self._status_from(task, task if full else None, numbering)

    def cancel_run(self, run_id: str) -> None:
        """Cancel the task."""
        self.cancel_task(run_id)

    async def acancel_run(self, run_id: str) -> None:
        """Cancel the task (async)."""
        await self.acancel_task(run_id)

    def check_connection(self) -> None:
        """List one task: cheap, authenticated, needs only the ``apps:read`` scope."""
        self.list_tasks(limit=1)


def _created_at(item: Mapping[str, Any]) -> datetime | None:
    value = item.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _split_ref(ref: str) -> tuple[str, str | None, str | None]:
    """``namespace/name@version:function`` as ``(namespace/name, version, function)``."""
    ref, _, function = ref.strip().partition(":")
    name, _, version = ref.partition("@")
    return name, version or None, function or None


def _same_app(item: Mapping[str, Any], app: str | None) -> bool:
    """Whether an echoed ``app`` reference agrees with ``app``: same name, and the same version
    and function where both give one (an unversioned reference runs the latest version)."""
    if not app or not isinstance(item.get("app"), str) or not item["app"]:
        return True
    ours, theirs = _split_ref(app), _split_ref(item["app"])
    return all(a == b for a, b in zip(ours, theirs, strict=True) if a and b) and ours[0] == theirs[0]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def task_matches_request(item: Mapping[str, Any], app: str | None, request: Mapping[str, Any]) -> bool:
    """Whether a listed task agrees with every field of the request that both sides carry.

    A field is compared only when the task echoes it and the request gave it (servers and
    versions echo different fields): an unknown is never a mismatch, a difference always is.
    """
    if not _same_app(item, app):
        return False
    function = request.get("function") or (_split_ref(app)[2] if app else None)
    pairs = {
        "app_id": request.get("app_id"),
        "app_version_id": request.get("version_id"),
        "function": function,
        "setup": request.get("setup"),
        "infra": request.get("infra"),
        "workers": list(request["workers"]) if request.get("workers") is not None else None,
        "webhook": request.get("webhook"),
        "session_timeout": request.get("session_timeout"),
        "metadata": request.get("metadata"),
    }
    for key, ours in pairs.items():
        theirs = item.get(key)
        if _empty(ours) or _empty(theirs):
            continue
        if isinstance(ours, Mapping):
            ours = dict(ours)
        if theirs != ours:
            return False
    ours_at, theirs_at = request.get("run_at"), item.get("run_at")
    if not _empty(ours_at) and not _empty(theirs_at):
        try:
            if parse_datetime(ours_at, "run_at") != parse_datetime(theirs_at, "run_at"):
                return False
        except ValueError:
            pass
    return True
