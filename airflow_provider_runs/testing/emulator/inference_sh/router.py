"""The inference.sh API (``/inference-sh`` prefix), faithful to ``specs/inference_sh.md``.

Scenario control per task: a reserved ``_emulator`` key in the task input, stripped before
the app's schema is checked and never echoed in ``output``::

    {"_emulator": {"outcome": "completed|failed|cancelled|rejected|stuck", "duration": 2.0,
                   "error": "text", "output": {...},
                   "status_sequence": [[42, 1.0], ["running", 2.0]]}}

``status_sequence`` replays raw statuses (an int is sent as is, whatever the numbering) for
the given seconds each, then the outcome applies (``stuck`` stays on the last status).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import jsonschema
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from airflow_provider_runs.testing.emulator.inference_sh.apps import AppSpec, find_app, find_app_by_id
from airflow_provider_runs.testing.emulator.inference_sh.store import (
    CURRENT_CODES,
    LEGACY_CODES,
    NAMES_BY_CURRENT,
    TERMINAL,
    Session,
    Task,
    new_id,
)
from airflow_provider_runs.testing.emulator.state import EmulatorState, take_scenario

PREFIX = "/inference-sh"
APP_REF = re.compile(
    r"^(?P<ref>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(@(?P<version>[\w.-]+))?(:(?P<function>[A-Za-z_][\w-]*))?$"
)
URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
OUTCOMES = ("completed", "failed", "cancelled", "rejected", "stuck")
FILTER_OPERATORS = ("eq", "in", "not_in", "like")
LIST_CAP = 10_000  # §3.5: ``limit`` -1 = everything matching, capped at 10 000
RATE_BUCKETS = {"run": "run", "get_task": "get", "get_status": "get", "upload": "upload"}
"""Handler name -> rate-limit bucket (spec §8.3: run task, get task, upload file)."""


class ApiError(Exception):
    """An error answer: HTTP status, code and detail."""

    def __init__(
        self, status: int, code: str, detail: str, meta: dict | None = None, body: Any = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.meta, self.body = status, code, detail, meta or {}, body


class InferenceShEmulator:
    """State and behaviour of the emulated inference.sh service."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.tasks: dict[str, Task] = {}
        self.sessions: dict[str, Session] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.scenarios: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Forget every task, session, file and scenario."""
        self.tasks.clear()
        self.sessions.clear()
        self.files.clear()
        self.scenarios.clear()

    @property
    def now(self) -> float:
        return self.state.clock.now()

    # -- representation --------------------------------------------------------------
    def code(self, status: Any, request: Request | None = None) -> Any:
        """A status as the server sends it (int code of the configured numbering, or a name)."""
        if not isinstance(status, str):
            return status
        if self.state.config.inference_sh_status_names:
            return status
        if self.state.config.inference_sh_status_numbering == "legacy":
            return LEGACY_CODES[status]
        return CURRENT_CODES[status]

    def task_dto(self, task: Task) -> dict[str, Any]:
        """The full task object."""
        now = self.now
        status, since = task.status_at(now)
        done = status in TERMINAL
        error = ""
        if status == "failed":
            error = task.error or "task failed"
        elif status == "rejected":
            error = task.error or "run admission refused: insufficient balance"
            if self.state.config.inference_sh_status_numbering == "legacy":
                status = "failed"
        clock = self.state.clock
        return {
            "id": task.id,
            "status": self.code(status),
            "input": task.input,
            "output": task.output if status == "completed" else None,
            "error": error,
            "session_id": task.session_id,
            "created_at": clock.iso(task.created_at),
            "updated_at": clock.iso(since),
            "app_id": task.app.app_id,
            "app_version_id": task.app.version_id,
            "function": task.function,
            "infra": task.request.get("infra", "cloud"),
            "workers": task.request.get("workers") or [],
            "webhook": task.request.get("webhook"),
            "setup": task.request.get("setup"),
            "run_at": task.request.get("run_at"),
            "session_timeout": task.request.get("session_timeout"),
            "metadata": task.request.get("metadata"),
            "events": [
                {
                    "id": f"ev_{i}",
                    "created_at": clock.iso(at),
                    "event_time": clock.iso(at),
                    "task_id": task.id,
                    "status": self.code(s),
                }
                for i, (at, s) in enumerate(task.events(now))
            ],
            "logs": [{"id": "log_1", "log_type": 1, "content": f"{task.app.ref} {status}"}] if done else [],
            "user_id": "user_emulator",
            "team_id": "team_emulator",
        }

    def status_dto(self, task: Task) -> dict[str, Any]:
        """The light status object."""
        status, since = task.status_at(self.now)
        if status == "rejected" and self.state.config.inference_sh_status_numbering == "legacy":
            status = "failed"
        return {"id": task.id, "status": self.code(status), "updated_at": self.state.clock.iso(since)}

    # -- creating ----------------------------------------------------------------------
    def create(self, body: Any, base_url: str) -> Task:
        """Validate a run request and create its task (the spec's checks and error codes)."""
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "request body must be a JSON object")
        app, function = self._resolve_app(body)
        data = body.get("input")
        if data is None:
            raise ApiError(400, "invalid_request", "input is required")
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_request", "input must be an object")
        scenario = self._scenario(data, app)
        payload = {k: v for k, v in data.items() if k != "_emulator"}
        if body.get("function") is not None:
            function = body["function"]
            if not isinstance(function, str):
                raise ApiError(400, "invalid_request", "function must be a string")
        if function not in app.functions:
            valid = ", ".join(sorted(app.functions))
            raise ApiError(
                422, "validation_error", f"unknown function {function!r}; valid functions: {valid}"
            )
        try:
            jsonschema.validate(payload, app.input_schema)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(p) for p in exc.absolute_path) or "input"
            raise ApiError(
                422, "validation_error", f"input does not match the app schema at {where}: {exc.message}"
            ) from None
        for key in ("setup", "metadata"):
            if body.get(key) is not None and not isinstance(body[key], dict):
                raise ApiError(400, "invalid_request", f"{key} must be an object")
        infra = body.get("infra")
        if infra is not None and infra not in ("cloud", "private", "private_first"):
            raise ApiError(
                400, "invalid_request", f"infra must be cloud, private or private_first; got {infra!r}"
            )
        workers = body.get("workers")
        if workers is not None and (
            not isinstance(workers, list) or not all(isinstance(w, str) for w in workers)
        ):
            raise ApiError(400, "invalid_request", "workers must be an array of strings")
        webhook = body.get("webhook")
        if webhook is not None and (not isinstance(webhook, str) or not URL.match(webhook)):
            raise ApiError(400, "invalid_request", "webhook must be an http(s) URL")
        session_timeout = body.get("session_timeout")
        session_ref = body.get("session")
        if session_timeout is not None:
            if (
                isinstance(session_timeout, bool)
                or not isinstance(session_timeout, int)
                or not 1 <= session_timeout <= 3600
            ):
                raise ApiError(
                    400, "invalid_request", "session_timeout must be an integer between 1 and 3600"
                )
            if session_ref != "new":
                raise ApiError(400, "invalid_request", 'session_timeout is only valid with session: "new"')
        run_at = self._run_at(body.get("run_at"))
        now = self.now
        session = self._session_for(session_ref, app, session_timeout, now)
        duration = float(
            scenario.get(
                "duration",
                app.duration if app.duration is not None else self.state.config.default_task_duration,
            )
        )
        task_id = new_id("task")
        ctx = {
            "session": session.state if session else {},
            "files": lambda name, content, ctype: self._store_file(task_id, name, content, ctype, base_url),
        }
        output = scenario["output"] if "output" in scenario else app.functions[function](payload, ctx)
        start = max(now, run_at) if run_at is not None else now
        task = Task(
            id=task_id,
            app=app,
            function=function,
            input=data,
            created_at=now,
            start_at=start,
            duration=duration,
            outcome=scenario.get("outcome", "completed"),
            sequence=[(s, float(d)) for s, d in scenario.get("status_sequence", [])],
            output=output,
            error=str(scenario.get("error") or ""),
            request={
                k: body.get(k)
                for k in ("infra", "workers", "webhook", "setup", "run_at", "session_timeout", "metadata")
            },
            session_id=session.id if session else None,
            webhook=webhook,
        )
        if session is not None:
            session.call_count += 1
            session.task_id = task.id
            session.last_activity = start + duration
        self.tasks[task.id] = task
        self.state.count("inference_sh", "tasks_created")
        return task

    def _resolve_app(self, body: dict) -> tuple[AppSpec, str]:
        ref = body.get("app")
        if ref is None:
            app_id = body.get("app_id")
            if not app_id:
                raise ApiError(400, "invalid_request", "app is required")
            app = find_app_by_id(app_id, body.get("version_id"))
            if app is None:
                raise ApiError(404, "not_found", f"app {app_id} not found")
            return app, "run"
        if not isinstance(ref, str) or not (match := APP_REF.match(ref.strip())):
            raise ApiError(400, "invalid_request", f"invalid app reference {ref!r}")
        app = find_app(match["ref"], match["version"])
        if app is None:
            raise ApiError(404, "not_found", f"app {ref} not found")
        return app, match["function"] or "run"

    def _scenario(self, data: dict, app: AppSpec) -> dict[str, Any]:
        scenario = data.get("_emulator")
        if scenario is None:
            return take_scenario(self.scenarios, app.ref)
        if not isinstance(scenario, dict):
            raise ApiError(400, "invalid_request", "_emulator must be an object")
        if scenario.get("outcome", "completed") not in OUTCOMES:
            raise ApiError(400, "invalid_request", f"_emulator.outcome must be one of {OUTCOMES}")
        return scenario

    def _run_at(self, value: Any) -> float | None:
        if value is None:
            return None
        from datetime import datetime

        if not isinstance(value, str):
            raise ApiError(400, "invalid_request", "run_at must be an RFC 3339 string")
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, "invalid_request", "run_at must be an RFC 3339 string") from None
        if when.tzinfo is None:
            raise ApiError(400, "invalid_request", "run_at needs a time zone")
        start = self.state.clock._start_wall
        return (when - start).total_seconds()

    def _session_for(self, ref: Any, app: AppSpec, timeout: int | None, now: float) -> Session | None:
        if ref is None:
            return None
        if not isinstance(ref, str) or not ref:
            raise ApiError(400, "invalid_request", "session must be a string")
        if ref == "new":
            session = Session(
                id=new_id("sess"),
                app=app,
                idle_timeout=float(timeout or self.state.config.session_idle_timeout),
                created_at=now,
                last_activity=now,
                worker_id=new_id("worker"),
            )
            self.sessions[session.id] = session
            return session
        session = self.sessions.get(ref)
        if session is None:
            raise ApiError(404, "SESSION_NOT_FOUND", f"session {ref} not found")
        status = session.status(now)
        if status == "ended":
            raise ApiError(410, "SESSION_ENDED", f"session {ref} has ended")
        if status == "expired":
            raise ApiError(
                410, "SESSION_EXPIRED", f"session {ref} expired after {session.idle_timeout:g}s idle"
            )
        if session.app.ref != app.ref:
            raise ApiError(409, "APP_MISMATCH", f"session {ref} is bound to app {session.app.ref}")
        if session.app.version != app.version:
            raise ApiError(
                409, "VERSION_MISMATCH", f"session {ref} is bound to version {session.app.version}"
            )
        return session

    def _store_file(
        self, task_id: str, name: str, content: bytes, ctype: str, base_url: str
    ) -> dict[str, Any]:
        file_id = new_id("file")
        uri = f"{base_url}{PREFIX}/files/{file_id}/{name}"
        self.files[file_id] = {
            "id": file_id,
            "uri": uri,
            "filename": name,
            "content_type": ctype,
            "size": len(content),
            "content": content,
            "task_id": task_id,
            "uploaded": True,
        }
        return {"uri": uri, "filename": name, "content_type": ctype, "size": len(content)}

    def session_dto(self, session: Session) -> dict[str, Any]:
        """The session object."""
        clock = self.state.clock
        now = self.now
        return {
            "id": session.id,
            "app_id": session.app.app_id,
            "app_version_id": session.app.version_id,
            "worker_id": session.worker_id,
            "status": session.status(now),
            "expires_at": clock.iso(session.last_activity + session.idle_timeout),
            "ended_at": clock.iso(session.ended_at) if session.ended_at is not None else None,
            "idle_timeout": session.idle_timeout,
            "call_count": session.call_count,
            "last_call_at": clock.iso(session.last_activity),
            "task_id": session.task_id,
            "created_at": clock.iso(session.created_at),
            "updated_at": clock.iso(session.last_activity),
        }

    def get_task(self, task_id: str) -> Task:
        task = self.tasks.get(task_id)
        if task is None or task.deleted:
            raise ApiError(404, "not_found", "task not found")
        return task


# -- HTTP -------------------------------------------------------------------------------
def _v2(request: Request, state: EmulatorState) -> bool:
    return request.headers.get("x-api-version") == "2" or state.config.inference_sh_envelope == "v2"


def respond(request: Request, state: EmulatorState, data: Any, status: int = 200) -> Response:
    """A success answer in the configured envelope."""
    if _v2(request, state):
        body = data
    elif state.config.inference_sh_envelope == "v1":
        body = {"success": True, "status": status, "data": data}
    else:
        body = {"data": data, "messages": []}
    return JSONResponse(body, status_code=status)


def fail(request: Request, state: EmulatorState, err: ApiError) -> Response:
    """An error answer: problem+json (current, v2) or the v1 error object; 412 keeps its shape."""
    if err.body is not None:
        return JSONResponse(err.body, status_code=err.status)
    if state.config.inference_sh_envelope == "v1" and not _v2(request, state):
        body = {"success": False, "status": err.status, "error": {"code": err.code, "message": err.detail}}
        return JSONResponse(body, status_code=err.status)
    body = {
        "type": f"https://api.inference.sh/errors/{err.code}",
        "title": _TITLES.get(err.status, "Error"),
        "status": err.status,
        "detail": err.detail,
        "meta": err.meta,
    }
    return JSONResponse(body, status_code=err.status, media_type="application/problem+json")


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def build_router(state: EmulatorState) -> tuple[APIRouter, InferenceShEmulator]:
    """The inference.sh router and its emulator object."""
    emu = InferenceShEmulator(state)
    router = APIRouter(prefix=PREFIX)

    def authorize(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or key.strip() not in state.config.inference_sh_api_keys:
            raise ApiError(401, "unauthorized", "missing or invalid API key")
        return key.strip()

    async def json_body(request: Request, required: bool = True) -> Any:
        raw = await request.body()
        if not raw.strip():
            if required:
                raise ApiError(400, "invalid_request", "request body is required")
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid_request", "request body is not valid JSON") from None

    def handler(func):
        bucket = RATE_BUCKETS.get(func.__name__)

        async def endpoint(request: Request) -> Response:
            verdict = None
            try:
                key = authorize(request)
                verdict = state.limits.take("inference_sh", bucket, key) if bucket else None
                if verdict is not None:
                    state.count("inference_sh", "metered")
                if verdict is not None and not verdict.allowed:
                    state.count("inference_sh", "rate_limited")
                    state.count("inference_sh", f"rate_limited_{bucket}")
                    detail = f"rate limit exceeded: {verdict.limit} {bucket} requests per minute"
                    response = fail(request, state, ApiError(429, "rate_limited", detail))
                    response.headers["Retry-After"] = str(state.limits.retry_after(verdict))
                else:
                    response = await func(request)
            except ApiError as err:
                response = fail(request, state, err)
            if verdict is not None:
                response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)
                response.headers["X-RateLimit-Reset"] = str(state.limits.reset_epoch(verdict))
            return response

        endpoint.__name__ = func.__name__
        return endpoint

    @handler
    async def run(request: Request) -> Response:
        body = await json_body(request)
        task = emu.create(body, str(request.base_url).rstrip("/"))
        wait = request.query_params.get("wait")
        wants_wait = (
            (wait or "").lower() in ("true", "1") if wait is not None else bool(body.get("wait", False))
        )
        if wants_wait:
            waited = 0.0
            while not task.is_terminal(emu.now) and waited < state.config.max_wait_seconds:
                await asyncio.sleep(0.05)
                waited += 0.05
        return respond(request, state, emu.task_dto(task))

    router.add_api_route("/run", run, methods=["POST"])
    router.add_api_route("/apps/run", run, methods=["POST"])

    @handler
    async def get_task(request: Request) -> Response:
        return respond(request, state, emu.task_dto(emu.get_task(request.path_params["task_id"])))

    @handler
    async def get_status(request: Request) -> Response:
        return respond(request, state, emu.status_dto(emu.get_task(request.path_params["task_id"])))

    @handler
    async def cancel(request: Request) -> Response:
        task = emu.get_task(request.path_params["task_id"])
        body = await json_body(request, required=False)
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "body must be an object")
        if task.is_terminal(emu.now):
            raise ApiError(409, "invalid_transition", "task already finished")
        if task.cancelled_at is None:
            task.cancelled_at = emu.now - (1.0 if body.get("force") else 0.0)
            state.count("inference_sh", "cancels")
        status = emu.code("cancelled")
        return respond(request, state, {"id": task.id, "status": status, "cancelled": True})

    @handler
    async def stream(request: Request) -> Response:
        task = emu.get_task(request.path_params["task_id"])
        ndjson = "application/x-ndjson" in request.headers.get("accept", "")
        return StreamingResponse(
            _stream(emu, task, ndjson), media_type="application/x-ndjson" if ndjson else "text/event-stream"
        )

    @handler
    async def list_post(request: Request) -> Response:
        body = await json_body(request, required=False)
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "body must be an object")
        return respond(request, state, _list(emu, body))

    @handler
    async def list_get(request: Request) -> Response:
        body: dict[str, Any] = {}
        for key, value in request.query_params.items():
            if key in ("filters", "sort", "search"):
                try:
                    body[key] = json.loads(value)
                except ValueError:
                    raise ApiError(400, "invalid_request", f"{key} must be JSON") from None
            elif key == "limit":
                try:
                    body[key] = int(value)
                except ValueError:
                    raise ApiError(400, "invalid_request", "limit must be an integer") from None
            else:
                body[key] = value
        return respond(request, state, _list(emu, body))

    @handler
    async def delete_task(request: Request) -> Response:
        task = emu.get_task(request.path_params["task_id"])
        if not task.is_terminal(emu.now):
            raise ApiError(409, "invalid_transition", "only finished tasks can be deleted")
        task.deleted = True
        return Response(status_code=204)

    @handler
    async def logs(request: Request) -> Response:
        task = emu.get_task(request.path_params["task_id"])
        dto = emu.task_dto(task)
        return respond(
            request,
            state,
            {"task_id": task.id, "status": dto["status"], "events": dto["events"], "logs": dto["logs"]},
        )

    @handler
    async def timings(request: Request) -> Response:
        task = emu.get_task(request.path_params["task_id"])
        return respond(
            request,
            state,
            {"task_id": task.id, "queued": task.start_at - task.created_at, "running": task.duration},
        )

    @handler
    async def cost(request: Request) -> Response:
        task = emu.get_task(request.path_params["task_id"])
        if not task.is_terminal(emu.now):
            raise ApiError(404, "not_found", "cost not recorded yet")
        return respond(request, state, {"total": 1500, "charged": 1500})

    @handler
    async def queue_stats(request: Request) -> Response:
        now = emu.now
        live = [t for t in emu.tasks.values() if not t.deleted]
        queued = [t for t in live if t.status_at(now)[0] in ("received", "queued")]
        return respond(
            request,
            state,
            {
                "total_queued": len(queued),
                "with_run_at": sum(1 for t in queued if t.request.get("run_at")),
                "ready_to_run": sum(1 for t in queued if t.start_at <= now),
                "in_progress": sum(1 for t in live if t.status_at(now)[0] not in TERMINAL) - len(queued),
                "by_app": [],
            },
        )

    @handler
    async def task_files(request: Request) -> Response:
        task = emu.get_task(request.path_params["task_id"])
        if request.method == "DELETE":
            for file_id in [f for f, v in emu.files.items() if v["task_id"] == task.id]:
                emu.files.pop(file_id)
            return Response(status_code=204)
        items = [_file_dto(f) for f in emu.files.values() if f["task_id"] == task.id]
        return respond(request, state, items)

    @handler
    async def upload(request: Request) -> Response:
        body = await json_body(request)
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list) or not files:
            raise ApiError(400, "invalid_request", "files must be a non-empty array")
        out = []
        base = str(request.base_url).rstrip("/")
        for spec in files:
            if not isinstance(spec, dict) or not spec.get("filename"):
                raise ApiError(400, "invalid_request", "each file needs a filename")
            file_id = new_id("file")
            record = {
                "id": file_id,
                "uri": f"{base}{PREFIX}/files/{file_id}/{spec['filename']}",
                "upload_url": f"{base}{PREFIX}/_uploads/{file_id}",
                "filename": spec["filename"],
                "content_type": spec.get("content_type") or "application/octet-stream",
                "size": spec.get("size") or 0,
                "content": b"",
                "task_id": None,
                "uploaded": False,
            }
            emu.files[file_id] = record
            out.append(_file_dto(record) | {"upload_url": record["upload_url"]})
        return respond(request, state, out)

    async def put_upload(request: Request) -> Response:
        record = emu.files.get(request.path_params["file_id"])
        if record is None:
            return Response(status_code=404)
        record["content"] = await request.body()
        record["size"] = len(record["content"])
        record["uploaded"] = True
        return Response(status_code=200)

    async def get_file(request: Request) -> Response:
        record = emu.files.get(request.path_params["file_id"])
        if record is None or not record["uploaded"]:
            return Response(status_code=404)
        return Response(record["content"], media_type=record["content_type"])

    @handler
    async def list_sessions(request: Request) -> Response:
        now = emu.now
        return respond(
            request, state, [emu.session_dto(s) for s in emu.sessions.values() if s.status(now) == "active"]
        )

    def _session(request: Request) -> Session:
        session = emu.sessions.get(request.path_params["session_id"])
        if session is None:
            raise ApiError(404, "SESSION_NOT_FOUND", "session not found")
        return session

    @handler
    async def get_session(request: Request) -> Response:
        return respond(request, state, emu.session_dto(_session(request)))

    @handler
    async def keepalive(request: Request) -> Response:
        session = _session(request)
        status = session.status(emu.now)
        if status != "active":
            code = "SESSION_ENDED" if status == "ended" else "SESSION_EXPIRED"
            raise ApiError(410, code, f"session is {status}")
        session.last_activity = emu.now
        return respond(request, state, emu.session_dto(session))

    @handler
    async def end_session(request: Request) -> Response:
        session = _session(request)
        if session.ended_at is None:
            session.ended_at = emu.now
        return Response(status_code=204)

    async def openapi(request: Request) -> Response:
        paths = sorted({route.path[len(PREFIX) :] for route in router.routes if hasattr(route, "path")})
        return JSONResponse(
            {
                "openapi": "3.1.0",
                "info": {"title": "inference.sh (emulator)", "version": "1"},
                "paths": {p: {} for p in paths},
            }
        )

    router.add_api_route("/tasks/queue-stats", queue_stats, methods=["GET"])
    router.add_api_route("/tasks/list", list_post, methods=["POST"])
    router.add_api_route("/tasks", list_get, methods=["GET"])
    router.add_api_route("/tasks/{task_id}", get_task, methods=["GET"])
    router.add_api_route("/tasks/{task_id}", delete_task, methods=["DELETE"])
    router.add_api_route("/tasks/{task_id}/status", get_status, methods=["GET"])
    router.add_api_route("/tasks/{task_id}/stream", stream, methods=["GET"])
    router.add_api_route("/tasks/{task_id}/cancel", cancel, methods=["POST"])
    router.add_api_route("/tasks/{task_id}/logs", logs, methods=["GET"])
    router.add_api_route("/tasks/{task_id}/timings", timings, methods=["GET"])
    router.add_api_route("/tasks/{task_id}/files", task_files, methods=["GET", "DELETE"])
    router.add_api_route("/usage/tasks/{task_id}/cost", cost, methods=["GET"])
    router.add_api_route("/files", upload, methods=["POST"])
    router.add_api_route("/_uploads/{file_id}", put_upload, methods=["PUT"])
    router.add_api_route("/files/{file_id}/{filename}", get_file, methods=["GET"])
    router.add_api_route("/sessions", list_sessions, methods=["GET"])
    router.add_api_route("/sessions/{session_id}", get_session, methods=["GET"])
    router.add_api_route("/sessions/{session_id}", end_session, methods=["DELETE"])
    router.add_api_route("/sessions/{session_id}/keepalive", keepalive, methods=["POST"])
    router.add_api_route("/openapi.json", openapi, methods=["GET"])
    return router, emu


def _file_dto(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("id", "uri", "filename", "content_type", "size")}


async def _stream(emu: InferenceShEmulator, task: Task, ndjson: bool):
    """Live updates: a full task on each status change, heartbeats, the full terminal task."""
    heartbeat = emu.state.config.stream_heartbeat_seconds
    last_status: Any = object()
    since_beat = 0.0
    first = True
    event_id = 0
    while True:
        dto = emu.task_dto(task)
        status = dto["status"]
        if status != last_status:
            event_id += 1
            if ndjson:
                if first or dto["status"] in _terminal_codes(emu):
                    yield json.dumps(dto) + "\n"
                else:
                    yield json.dumps({"data": {"id": task.id, "status": status}, "fields": ["status"]}) + "\n"
            else:
                yield f"id: {event_id}\nevent: update\ndata: {json.dumps(dto)}\n\n"
            last_status = status
            first = False
            since_beat = 0.0
        if task.is_terminal(emu.now):
            if not ndjson:
                yield "event: done\ndata: {}\n\n"
            return
        await asyncio.sleep(0.05)
        since_beat += 0.05
        if since_beat >= heartbeat:
            since_beat = 0.0
            yield json.dumps({"type": "heartbeat"}) + "\n" if ndjson else ": heartbeat\n\n"


def _terminal_codes(emu: InferenceShEmulator) -> set[Any]:
    return {emu.code(s) for s in TERMINAL}


def _list(emu: InferenceShEmulator, body: dict[str, Any]) -> dict[str, Any]:
    limit = body.get("limit", 10)
    if isinstance(limit, bool) or not isinstance(limit, int) or (limit < 1 and limit != -1):
        raise ApiError(400, "invalid_request", "limit must be a positive integer or -1")
    if limit > LIST_CAP:
        raise ApiError(400, "invalid_request", f"limit must be at most {LIST_CAP} (or -1)")
    filters = body.get("filters") or []
    if not isinstance(filters, list):
        raise ApiError(400, "invalid_filter", "filters must be an array")
    for flt in filters:
        _check_filter(flt)
    by_id = next((f for f in filters if f.get("field") == "id" and f.get("operator") in ("eq", "in")), None)
    if by_id is not None:  # a batched status read: look the ids up instead of scanning every task
        wanted = by_id["value"] if isinstance(by_id["value"], list) else [by_id["value"]]
        items = [t for i in dict.fromkeys(map(str, wanted)) if (t := emu.tasks.get(i)) and not t.deleted]
        emu.state.count("inference_sh", "ids_listed", len(wanted))
    else:
        items = [t for t in emu.tasks.values() if not t.deleted]
    now = emu.now
    for flt in filters:
        items = [t for t in items if _matches(emu, t, flt, now)]
    search = body.get("search")
    if search:
        term = str(search.get("term", "")).lower() if isinstance(search, dict) else ""
        items = [t for t in items if term in json.dumps(t.input).lower() or term in t.id.lower()]
    sorts = body.get("sort") or [{"field": "created_at", "dir": "desc"}]
    if not isinstance(sorts, list):
        raise ApiError(400, "invalid_request", "sort must be an array of {field, dir}")
    for spec in reversed(sorts):
        if not isinstance(spec, dict) or spec.get("field") not in (
            "created_at",
            "updated_at",
            "id",
            "status",
        ):
            raise ApiError(400, "invalid_request", f"cannot sort by {spec!r}")
        key = spec["field"]
        reverse = spec.get("dir", "asc") == "desc"
        items.sort(
            key=lambda t, k=key: (
                (t.created_at, t.id) if k in ("created_at", "updated_at") else (str(getattr(t, k, "")),)
            ),
            reverse=reverse,
        )
    total = len(items)
    if limit == -1:
        page = items[:LIST_CAP]
        return _page(emu, page, None, None, total, len(page))
    offset = _decode_cursor(body.get("cursor"))
    page = items[offset : offset + limit]
    next_cursor = _encode_cursor(offset + limit) if offset + limit < total else None
    prev_cursor = _encode_cursor(max(0, offset - limit)) if offset > 0 else None
    return _page(emu, page, next_cursor, prev_cursor, total, limit)


def _page(emu, page, next_cursor, prev_cursor, total, per_page) -> dict[str, Any]:
    return {
        "items": [emu.task_dto(t) for t in page],
        "next_cursor": next_cursor,
        "prev_cursor": prev_cursor,
        "has_next": next_cursor is not None,
        "has_previous": prev_cursor is not None,
        "items_per_page": per_page,
        "total_items": total,
    }


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
        return int(text.split(":", 1)[1])
    except (ValueError, IndexError):
        raise ApiError(400, "invalid_request", "invalid cursor") from None


FILTER_FIELDS = ("status", "app_id", "app", "id", "session_id", "function")


def _check_filter(flt: Any) -> None:
    """400 ``invalid_filter`` unless ``flt`` is ``{field, operator, value}`` the list can apply."""
    if not isinstance(flt, dict) or not isinstance(flt.get("field"), str):
        raise ApiError(400, "invalid_filter", "filters must be objects with field, operator, value")
    field, op, value = flt["field"], flt.get("operator", "eq"), flt.get("value")
    if not isinstance(op, str) or op not in FILTER_OPERATORS:
        raise ApiError(400, "invalid_filter", f"unknown operator {op!r}")
    if field not in FILTER_FIELDS:
        raise ApiError(400, "invalid_filter", f"cannot filter on {field!r}")
    if op in ("in", "not_in") and not isinstance(value, list):
        raise ApiError(400, "invalid_filter", f"{op} needs an array value")
    if field == "status":
        if op == "like":
            raise ApiError(400, "invalid_filter", "status supports eq, in, not_in")
        for v in value if isinstance(value, list) else [value]:
            _status_name(v)


def _matches(emu: InferenceShEmulator, task: Task, flt: Any, now: float) -> bool:
    field, op, value = flt["field"], flt.get("operator", "eq"), flt.get("value")
    if field == "status":
        actual = task.status_at(now)[0]
        values = value if isinstance(value, list) else [value]
        names = {_status_name(v) for v in values}
        if op in ("eq", "in"):
            return actual in names
        if op == "not_in":
            return actual not in names
        raise ApiError(400, "invalid_filter", "status supports eq, in, not_in")
    actual = {
        "app_id": task.app.app_id,
        "app": task.app.ref,
        "id": task.id,
        "session_id": task.session_id,
        "function": task.function,
    }.get(field)
    if op == "eq":
        return actual == value
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    pattern = re.escape(str(value)).replace("%", ".*").replace("_", ".")
    return re.fullmatch(pattern.replace("\\%", ".*"), str(actual or "")) is not None


def _status_name(value: Any) -> str:
    if isinstance(value, str) and not value.isdigit():
        if value not in CURRENT_CODES:
            raise ApiError(400, "invalid_filter", f"unknown status {value!r}")
        return value
    try:
        return NAMES_BY_CURRENT[int(value)]
    except (KeyError, ValueError, TypeError):
        raise ApiError(400, "invalid_filter", f"unknown status {value!r}") from None
