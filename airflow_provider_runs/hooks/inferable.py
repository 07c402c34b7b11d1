"""Inferable: create agent runs, read them, find and answer approvals (``specs/inferable.md``).

The state table is :func:`interpret_status`: ``pending`` -> QUEUED, ``running`` -> RUNNING,
``paused`` -> RUNNING (a run pauses on every ordinary tool call) or NEEDS_ACTION when a job of
the run has a requested, unanswered approval, ``done`` -> SUCCEEDED, ``failed`` -> FAILED.
Inferable has no run-cancel endpoint: :meth:`InferableHook.cancel_run` only logs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any
from urllib.parse import quote

from airflow_provider_runs.core.errors import AuthError, NotFoundError
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.base import RunsHook, ServiceSettings, json_object, path_segment
from airflow_provider_runs.services import INFERABLE
from airflow_provider_runs.validation import check_json, check_path_segment

_obj = partial(json_object, service="inferable", label="Inferable")
_rid = partial(path_segment, what="run_id")
_jid = partial(path_segment, what="job_id")

RUN_STATES: dict[str, RunState] = {
    "pending": RunState.QUEUED,
    "running": RunState.RUNNING,
    "paused": RunState.RUNNING,
    "done": RunState.SUCCEEDED,
    "failed": RunState.FAILED,
}
"""Inferable run statuses; ``paused`` becomes NEEDS_ACTION only with a pending approval."""

LISTED_WAITING = frozenset({"pending", "running"})
"""Run statuses a run listing answers for on its own (they need neither a result nor an approval)."""
LIST_LIMIT_MAX = 50
"""The largest ``limit`` of ``GET /clusters/{c}/runs`` (spec §2.3)."""

RUN_ID_PATTERN = re.compile(r"^[0-9A-Za-z_.-]{4,128}$")
PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_]+$")
CONSUMER_KEY_HINT = (
    "creating runs needs a cluster consumer API key (sk_...); a machine key (sk_machine...) "
    "may not be allowed to create runs"
)


def interpret_status(
    status: Any, *, failure_reason: str | None = None, approval: Mapping | None = None
) -> RunStatus:
    """Map an Inferable run status (plus a pending approval, if any) to a :class:`RunStatus`."""
    if not isinstance(status, str):
        return RunStatus(RunState.UNKNOWN, status, f"unrecognized status value {status!r}")
    state = RUN_STATES.get(status, RunState.UNKNOWN)
    details: dict[str, Any] = {}
    message = failure_reason or None
    if status == "paused" and approval:
        state = RunState.NEEDS_ACTION
        details = {
            "job_id": approval.get("id"),
            "tool": approval.get("targetFn"),
            "tool_input": approval.get("input"),
        }
        message = (
            f"waiting for an approval of tool call {approval.get('targetFn')!r} (job {approval.get('id')})"
        )
    return RunStatus(state, status, message, details)


def parse_error_body(status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
    """Read Inferable's three error shapes (handler, validation, plain message) or the text."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"]), None
        validation = [
            body.get(k) for k in ("bodyErrors", "queryParameterErrors", "pathParameterErrors", "headerErrors")
        ]
        issues = [i for part in validation if isinstance(part, dict) for i in part.get("issues") or []]
        if issues:
            parts = []
            for issue in issues:
                path = ".".join(str(p) for p in issue.get("path") or [])
                parts.append(f"{path}: {issue.get('message')}" if path else str(issue.get("message")))
            return "; ".join(parts), "validation_error"
        if body.get("message"):
            extra = body.get("errors")
            message = str(body["message"])
            if isinstance(extra, list) and extra:
                message += ": " + "; ".join(
                    f"{e.get('path')}: {e.get('error')}" for e in extra if isinstance(e, dict)
                )
            return message, None
    if status_code == 404 and not (text or "").strip():
        return "not found", "not_found"
    snippet = (text or "").strip()
    return (snippet[:500] or None), None


def check_result_schema(schema: Any, argument: str = "result_schema") -> None:
    """Check a JSON schema the way Inferable does at creation (object with properties, names)."""
    if not isinstance(schema, Mapping):
        raise ValueError(f"{argument} must be a JSON schema object or a pydantic model class")
    if "type" in schema and schema["type"] != "object":
        raise ValueError(f"{argument} must describe an object (type 'object'); wrap arrays in a property")
    if not isinstance(schema.get("properties"), Mapping) or not schema["properties"]:
        raise ValueError(f"{argument} must have 'properties'")
    _check_property_names(schema, argument)
    from jsonschema import Draft202012Validator, SchemaError

    try:
        Draft202012Validator.check_schema(dict(schema))
    except SchemaError as exc:
        raise ValueError(f"{argument} is not a valid JSON schema: {exc.message}") from None


def _check_property_names(schema: Any, argument: str) -> None:
    if isinstance(schema, Mapping):
        properties = schema.get("properties")
        if isinstance(properties, Mapping):
            for name in properties:
                if not PROPERTY_NAME.match(str(name)):
                    raise ValueError(
                        f"{argument}: property name {name!r} is not allowed (letters, digits and _ only)"
                    )
        for value in schema.values():
            if isinstance(value, Mapping | list):
                _check_property_names(value, argument)
    elif isinstance(schema, list):
        for item in schema:
            _check_property_names(item, argument)


def idempotency_id(dag_id: str, task_id: str, run_id: str, map_index: int, generation: int = 1) -> str:
    """A run ``id`` unique to one task instance (never the try number), valid for Inferable.

    ``generation`` moves on only when an earlier run of the task instance failed, so a retry
    reattaches to a live run and starts afresh after a failure.
    """
    digest = hashlib.sha256(json.dumps([dag_id, task_id, run_id, map_index]).encode()).hexdigest()[:24]
    readable = re.sub(r"[^0-9A-Za-z_.-]+", "-", f"{dag_id}.{task_id}")[:80].strip("-.") or "task"
    suffix = "" if map_index is None or map_index < 0 else f".m{map_index}"
    return f"af.{readable}{suffix}.{digest}.g{generation}"[-128:]


class InferableHook(RunsHook):
    """Hook for the Inferable runs API.

    The connection (type ``inferable``) holds the cluster API key as its password, the API base
    URL as its host (default ``https://api.inferable.ai``) and the cluster id as the extra field
    ``cluster_id``.

    :param inferable_conn_id: the connection id (default ``inferable_default``).
    :param cluster_id: overrides the connection's cluster id.
    """

    descriptor = INFERABLE
    supports_cancel = False

    def __init__(
        self, inferable_conn_id: str = INFERABLE.default_conn_id, *, cluster_id: str | None = None, **kwargs
    ):
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
        """The cluster id in use."""
        return (self._cluster_override or settings.extras["cluster_id"]).strip()

    def default_run_url(self, base_url: str, run_id: str) -> str:
        """The run's console URL."""
        cluster = quote(self.cluster_id(self.settings), safe="")
        run = quote(run_id, safe="")
        if "api.inferable.ai" in base_url:
            return f"https://app.inferable.ai/clusters/{cluster}/runs/{run}"
        return f"{base_url}/clusters/{cluster}/runs/{run}"

    # -- request builders -------------------------------------------------------------------
    def _p(self, settings: ServiceSettings, path: str) -> str:
        return f"/clusters/{path_segment(self.cluster_id(settings), 'cluster_id')}{path}"

    @staticmethod
    def build_run_body(
        *,
        initial_prompt: str,
        run_id: str | None = None,
        system_prompt: str | None = None,
        name: str | None = None,
        result_schema: Mapping[str, Any] | None = None,
        tools: Sequence[str] | None = None,
        on_status_change: Mapping[str, Any] | None = None,
        input: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        reasoning_traces: bool | None = None,
        interactive: bool | None = None,
        enable_result_grounding: bool | None = None,
    ) -> dict[str, Any]:
        """Validate and build the create-run body, naming the bad argument."""
        if not isinstance(initial_prompt, str) or not initial_prompt.strip():
            raise ValueError(
                "initial_prompt must be a non-empty string (without it Inferable stores the run "
                "but never starts it)"
            )
        if run_id is not None and (not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id)):
            raise ValueError(f"run id {run_id!r} must match ^[0-9A-Za-z_.-]{{4,128}}$")
        if result_schema is not None:
            check_result_schema(result_schema)
        if tools is not None:
            if isinstance(tools, str) or not isinstance(tools, Sequence):
                raise ValueError("tools must be a list of tool names")
            if not tools:
                raise ValueError("tools cannot be an empty list (leave it out for a run without tools)")
            if not all(isinstance(t, str) and t for t in tools):
                raise ValueError("tools must be a list of non-empty tool names")
        for arg, value in (("input", input), ("context", context), ("on_status_change", on_status_change)):
            if value is not None and not isinstance(value, Mapping):
                raise ValueError(f"{arg} must be a JSON object (a dict)")
            if value is not None:
                check_json(value, arg)
        if on_status_change is not None:
            _check_on_status_change(on_status_change)
        for arg, value in (("system_prompt", system_prompt), ("name", name)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{arg} must be a string")
        body: dict[str, Any] = {"initialPrompt": initial_prompt}
        optional = {
            "id": run_id,
            "systemPrompt": system_prompt,
            "name": name,
            "resultSchema": dict(result_schema) if result_schema is not None else None,
            "tools": list(tools) if tools is not None else None,
            "onStatusChange": dict(on_status_change) if on_status_change is not None else None,
            "input": dict(input) if input is not None else None,
            "context": dict(context) if context is not None else None,
            "reasoningTraces": reasoning_traces,
            "interactive": interactive,
            "enableResultGrounding": enable_result_grounding,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    # -- runs: sync ---------------------------------------------------------------------
    def create_run(self, **kwargs: Any) -> dict[str, Any]:
        """Create a run (``POST /clusters/{c}/runs``); see :meth:`build_run_body` for arguments.

        With an ``run_id`` the call is idempotent (a reused id returns the existing run), so it
        is retried on transient failures like a read.
        """
        body = self.build_run_body(**kwargs)
        settings = self.settings
        req = ApiRequest("POST", self._p(settings, "/runs"), json_body=body, idempotent="id" in body)
        try:
            return _obj(self.send(req).body)
        except AuthError as exc:
            raise _consumer_key_hint(exc) from None

    def get_run(self, run_id: str) -> dict[str, Any]:
        """Read a run (``GET /clusters/{c}/runs/{r}``); an unknown id raises ``NotFoundError``."""
        return _obj(self.send(ApiRequest("GET", self._p(self.settings, f"/runs/{_rid(run_id)}"))).body)

    def find_run(self, run_id: str) -> dict[str, Any] | None:
        """Read a run, or ``None`` when it does not exist."""
        try:
            return self.get_run(run_id)
        except NotFoundError:
            return None

    def list_runs(
        self,
        *,
        limit: int = 50,
        user_id: str | None = None,
        test: bool | None = None,
        type: str | None = None,
    ) -> list[dict[str, Any]]:
        """The newest runs (no paging exists: ``limit`` 10-50)."""
        if not isinstance(limit, int) or not 10 <= limit <= 50:
            raise ValueError(f"limit must be between 10 and 50; got {limit!r}")
        if type is not None and type not in ("conversation", "workflow", "all"):
            raise ValueError("type must be one of conversation, workflow, all")
        params = {"limit": limit, "userId": user_id, "test": test, "type": type}
        return list(self.send(ApiRequest("GET", self._p(self.settings, "/runs"), params=params)).body or [])

    def list_messages(
        self, run_id: str, *, after: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """The run's messages, newest first."""
        params = {"after": after, "limit": limit}
        path = self._p(self.settings, f"/runs/{_rid(run_id)}/messages")
        return list(self.send(ApiRequest("GET", path, params=params)).body or [])

    def list_events(self, *, run_id: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        """The newest 100 events of the cluster (``approvalRequested``, ``approvalGranted``, ...)."""
        params = {"runId": run_id, "type": type}
        return list(self.send(ApiRequest("GET", self._p(self.settings, "/events"), params=params)).body or [])

    def pending_approval(self, run_id: str) -> dict[str, Any] | None:
        """The run's first job with a requested, unanswered approval, or ``None``."""
        settings = self.settings
        params = {"runId": run_id, "type": "approvalRequested"}
        events = self.send(ApiRequest("GET", self._p(settings, "/events"), params=params)).body or []
        for job_id in _unique(e.get("jobId") for e in events if isinstance(e, dict)):
            job = self.send(ApiRequest("GET", self._p(settings, f"/jobs/{_jid(job_id)}"))).body
            if _awaits_approval(job):
                return _approval(job)
        return None

    def answer_approval(self, job_id: str, approved: bool) -> None:
        """Approve or deny a job (``POST /clusters/{c}/jobs/{job}/approval``); later answers are no-ops."""
        path = self._p(self.settings, f"/jobs/{_jid(job_id)}/approval")
        self.send(ApiRequest("POST", path, json_body={"approved": bool(approved)}, idempotent=True))

    # -- runs: async ----------------------------------------------------------------------
    async def aget_run(self, run_id: str) -> dict[str, Any]:
        """Async :meth:`get_run`."""
        settings = await self.asettings()
        return _obj((await self.asend(ApiRequest("GET", self._p(settings, f"/runs/{_rid(run_id)}")))).body)

    async def apending_approval(self, run_id: str) -> dict[str, Any] | None:
        """Async :meth:`pending_approval`."""
        settings = await self.asettings()
        params = {"runId": run_id, "type": "approvalRequested"}
        events = (await self.asend(ApiRequest("GET", self._p(settings, "/events"), params=params))).body or []
        for job_id in _unique(e.get("jobId") for e in events if isinstance(e, dict)):
            job = (await self.asend(ApiRequest("GET", self._p(settings, f"/jobs/{_jid(job_id)}")))).body
            if _awaits_approval(job):
                return _approval(job)
        return None

    # -- the run interface ----------------------------------------------------------------
    def get_status(self, run_id: str) -> RunStatus:
        """Read the run; look for a pending approval only when it is paused."""
        run = self.get_run(run_id)
        approval = self.pending_approval(run_id) if run.get("status") == "paused" else None
        return interpret_status(run.get("status"), failure_reason=run.get("failureReason"), approval=approval)

    async def aget_status(self, run_id: str) -> RunStatus:
        """Async :meth:`get_status`."""
        run = await self.aget_run(run_id)
        approval = await self.apending_approval(run_id) if run.get("status") == "paused" else None
        return interpret_status(run.get("status"), failure_reason=run.get("failureReason"), approval=approval)

    batch_size = 1000
    """Runs one :meth:`abatch_status` call takes: its one listing request answers for any number
    of ids, but only for the cluster's newest 50 runs."""

    async def abatch_status(self, run_ids: Sequence[str]) -> dict[str, RunStatus]:
        """Statuses of the waiting runs found among the cluster's newest 50 (``GET
        /clusters/{c}/runs?limit=50``, spec §2.3: no id filter, no paging).

        A listed item carries the run's ``status`` (and ``failureReason`` where the server leaks
        it) but not what a finished or paused run needs (the result, a pending approval), so only
        runs listed as :data:`LISTED_WAITING` (``pending``, ``running``) are answered, mapped as
        :meth:`aget_status` maps them; any other run is left out and read on its own, so the final
        event carries the full run.
        """
        wanted = set(run_ids)
        if not wanted:
            return {}
        settings = await self.asettings()
        params = {"limit": LIST_LIMIT_MAX}
        body = (await self.asend(ApiRequest("GET", self._p(settings, "/runs"), params=params))).body
        statuses: dict[str, RunStatus] = {}
        for item in body if isinstance(body, list) else ():
            if isinstance(item, dict) and item.get("id") in wanted and item.get("status") in LISTED_WAITING:
                statuses[item["id"]] = interpret_status(
                    item["status"], failure_reason=item.get("failureReason")
                )
        return statuses

    def cancel_run(self, run_id: str) -> None:
        """Inferable cannot cancel runs: log where the run keeps going (never delete it)."""
        self.log.warning(
            "Inferable has no run-cancel endpoint; run %s keeps going: %s", run_id, self.run_url(run_id)
        )

    async def acancel_run(self, run_id: str) -> None:
        """Async :meth:`cancel_run`."""
        self.cancel_run(run_id)

    def check_connection(self) -> None:
        """List the newest 10 runs of the cluster: cheap and authenticated."""
        self.list_runs(limit=10)


def _check_on_status_change(value: Mapping[str, Any]) -> None:
    kind = value.get("type")
    statuses = value.get("statuses")
    if kind is not None:
        if kind not in ("webhook", "tool", "workflow", "function"):
            raise ValueError("on_status_change type must be one of webhook, tool, workflow, function")
        if not isinstance(statuses, list) or not statuses:
            raise ValueError("on_status_change needs a non-empty 'statuses' list when 'type' is given")
    if statuses is not None and (not isinstance(statuses, list) or set(statuses) - set(RUN_STATES)):
        raise ValueError(f"on_status_change statuses must be among {sorted(RUN_STATES)}")
    if kind == "webhook" and not re.match(r"^https?://.+$", str(value.get("webhook") or "")):
        raise ValueError("on_status_change webhook must be an http(s) URL")


def _consumer_key_hint(exc: AuthError) -> AuthError:
    exc.message = f"{exc.message}; {CONSUMER_KEY_HINT}"
    exc.args = (exc._render(),)
    return exc


def _awaits_approval(job: Any) -> bool:
    return isinstance(job, dict) and job.get("approvalRequested") is True and job.get("approved") is None


def _approval(job: Mapping[str, Any]) -> dict[str, Any]:
    args = job.get("targetArgs")
    if isinstance(args, str):
        with contextlib.suppress(ValueError):
            args = json.loads(args)
    if isinstance(args, dict) and set(args) == {"value"}:
        args = args["value"]
    return {"id": job.get("id"), "targetFn": job.get("targetFn"), "input": args}


def _unique(values):
    seen = []
    for value in values:
        if value and value not in seen:
            seen.append(value)
    return seen
