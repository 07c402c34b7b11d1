"""inference.sh requests and answers: envelopes, error bodies, run requests and how a listed task
is matched to the request that may have created it (spec: ``specs/inference_sh.md``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypedDict

from airflow_provider_runs.core.errors import RunsApiError
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.hooks.base import json_object, path_segment
from airflow_provider_runs.validation import check_json, parse_datetime, service_time

task_object = partial(json_object, service="inference_sh", label="inference.sh")
"""An answer that must be a JSON object (a task, a light status, a session)."""
task_segment = partial(path_segment, what="task_id")
"""A task id as a checked URL path segment."""
session_segment = partial(path_segment, what="session_id")
"""A session id as a checked URL path segment."""

INFRA_CHOICES: tuple[str, ...] = ("cloud", "private", "private_first")
NEWEST_FIRST: tuple[Mapping[str, Any], ...] = ({"field": "created_at", "dir": "desc"},)
"""The ``sort`` of a task list, newest first."""

_APP_REF = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*(@[\w.-]+)?(:[A-Za-z_][\w-]*)?$")
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_FUNCTION = re.compile(r"^[A-Za-z_][\w-]{0,127}$")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")


class RunFields(TypedDict, total=False):
    """The optional fields of a run request (``POST /run``), besides ``app`` and ``input``."""

    app_id: str | None
    """The app id, an alternative to ``app``."""
    version_id: str | None
    """The app version id, with ``app_id``."""
    function: str | None
    """The entry point of a multi-function app."""
    setup: Mapping[str, Any] | None
    """Setup parameters (they affect worker warmth)."""
    infra: str | None
    """``cloud``, ``private`` or ``private_first``."""
    workers: Sequence[str] | None
    """Worker ids to pin the task to (private infra)."""
    webhook: str | None
    """A URL the service POSTs to when the task ends."""
    session: str | None
    """``"new"`` or an existing session id."""
    session_timeout: int | None
    """The idle timeout of a new session, 1-3600 s."""
    run_at: str | datetime | None
    """When to run the task (RFC 3339 or a datetime)."""
    metadata: Mapping[str, Any] | None
    """The service's automation metadata object."""


_BODY_ORDER = ("app", *RunFields.__annotations__)
"""The optional body fields of ``POST /run``, in the order they are sent."""


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
    """Check a run request locally; raise ``ValueError`` naming the bad argument.

    :param app: the app reference ``namespace/name[@version][:function]`` (or ``None`` with ``app_id``).
    :param input: the app input (a JSON object).
    :param app_id: see :class:`RunFields` (as every other argument).
    :param version_id: see :class:`RunFields`.
    :param function: see :class:`RunFields`.
    :param setup: see :class:`RunFields`.
    :param infra: see :class:`RunFields`.
    :param workers: see :class:`RunFields`.
    :param webhook: see :class:`RunFields`.
    :param session: see :class:`RunFields`.
    :param session_timeout: see :class:`RunFields`.
    :param run_at: see :class:`RunFields`.
    :param metadata: see :class:`RunFields`.
    """
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


def run_request(app: str | None, input: Mapping[str, Any], *, wait: bool, fields: RunFields) -> ApiRequest:
    """Validate and build ``POST /run`` (never retried blindly: the service has no idempotency key).

    :param app: the app reference (or ``None`` with ``fields["app_id"]``).
    :param input: the app input.
    :param wait: the ``wait`` query parameter and body field.
    :param fields: the other fields of the request.
    """
    validate_run_request(app=app, input=input, **fields)
    setup, workers, metadata = fields.get("setup"), fields.get("workers"), fields.get("metadata")
    optional = {
        **fields,
        "app": app.strip() if isinstance(app, str) else None,
        "setup": dict(setup) if setup is not None else None,
        "workers": list(workers) if workers is not None else None,
        "run_at": _rfc3339(fields.get("run_at")),
        "metadata": dict(metadata) if metadata is not None else None,
    }
    body: dict[str, Any] = {"input": dict(input), "wait": bool(wait)}
    body.update({key: optional[key] for key in _BODY_ORDER if optional.get(key) is not None})
    return ApiRequest("POST", "/run", params={"wait": wait}, json_body=body, idempotent=False)


def list_request(
    *,
    limit: int = 10,
    cursor: str | None = None,
    filters: Sequence[Mapping[str, Any]] | None = None,
    sort: Sequence[Mapping[str, Any]] | None = None,
    search: Mapping[str, Any] | None = None,
) -> ApiRequest:
    """Build one page of ``POST /tasks/list``; ``limit`` -1 lists everything.

    :param limit: the page size (a positive integer or -1).
    :param cursor: the ``next_cursor`` of the previous page.
    :param filters: ``{"field", "operator", "value"}`` filters.
    :param sort: ``{"field", "dir"}`` sort keys.
    :param search: the full-text search object.
    """
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


def cancel_request(task_id: str, force: bool, timeout_ms: int | None) -> ApiRequest:
    """Build ``POST /tasks/{id}/cancel``.

    :param task_id: the task id.
    :param force: cancel without waiting for the app to stop.
    :param timeout_ms: how long the service waits for the app to stop.
    """
    body: dict[str, Any] = {"force": force}
    if timeout_ms is not None:
        body["timeout"] = timeout_ms
    return ApiRequest("POST", f"/tasks/{task_segment(task_id)}/cancel", json_body=body, idempotent=True)


def _rfc3339(run_at: Any) -> str | None:
    """``run_at`` as RFC 3339 with an offset (a value without one is taken as UTC)."""
    when = parse_datetime(run_at, "run_at")
    return when.isoformat() if when is not None else None


def created_at(item: Mapping[str, Any]) -> datetime | None:
    """A listed task's ``created_at`` (RFC 3339, nanoseconds included), or ``None`` when it has none
    that parses (reported: :func:`~airflow_provider_runs.validation.service_time`)."""
    return service_time(item, "created_at", service="inference.sh")


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

    :param item: the listed task.
    :param app: the request's app reference.
    :param request: the other fields of the request (:class:`RunFields`).
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
