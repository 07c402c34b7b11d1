"""The emulated inference.sh service: tasks, sessions and files (``specs/inference_sh.md``).

Scenario control per task: a reserved ``_emulator`` key in the task input, stripped before
the app's schema is checked and never echoed in ``output``::

    {"_emulator": {"outcome": "completed|failed|cancelled|rejected|stuck", "duration": 2.0,
                   "error": "text", "output": {...}, "log_lines": ["app output", ...],
                   "status_sequence": [[42, 1.0], ["running", 2.0]]}}

A finished task's run log (``logs``, ``GET /tasks/{id}/logs``) holds the ``log_lines``, then
the app and its final status, then the error of a failed task.

``status_sequence`` replays raw statuses (an int is sent as is, whatever the numbering) for
the given seconds each, then the outcome applies (``stuck`` stays on the last status).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import jsonschema
from fastapi import Request
from fastapi.responses import Response

from airflow_provider_runs.testing.emulator.inference_sh.apps import AppSpec, find_app, find_app_by_id
from airflow_provider_runs.testing.emulator.inference_sh.errors import ApiError, respond
from airflow_provider_runs.testing.emulator.inference_sh.settings import InferenceShSettings
from airflow_provider_runs.testing.emulator.inference_sh.store import (
    CURRENT_CODES,
    LEGACY_CODES,
    TERMINAL,
    Session,
    Task,
    new_id,
)
from airflow_provider_runs.testing.emulator.service import EmulatedService, ServiceEmulator, Webhook
from airflow_provider_runs.testing.emulator.state import EmulatorState

APP_REF = re.compile(
    r"^(?P<ref>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(@(?P<version>[\w.-]+))?(:(?P<function>[A-Za-z_][\w-]*))?$"
)
URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
OUTCOMES = ("completed", "failed", "cancelled", "rejected", "stuck")


class InferenceShEmulator(ServiceEmulator):
    """State and behaviour of the emulated inference.sh service."""

    settings: InferenceShSettings

    def __init__(self, state: EmulatorState, service: EmulatedService) -> None:
        super().__init__(state, service)
        self.tasks: dict[str, Task] = {}
        self.sessions: dict[str, Session] = {}
        self.files: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        """Forget every task, session, file and scenario."""
        super().reset()
        self.tasks.clear()
        self.sessions.clear()
        self.files.clear()

    @property
    def envelope(self) -> str:
        """The configured response envelope."""
        return self.settings.inference_sh_envelope

    @property
    def legacy(self) -> bool:
        """Whether statuses use the legacy numbering."""
        return self.settings.inference_sh_status_numbering == "legacy"

    def respond(self, request: Request, data: Any, status: int = 200) -> Response:
        """A success answer in the configured envelope."""
        return respond(request, self.envelope, data, status)

    def due_webhooks(self) -> list[Webhook]:
        """The bare DTO of each task with a webhook that ended since the last look."""
        now, due = self.now, []
        for task in list(self.tasks.values()):
            if task.webhook and not task.webhook_done and task.is_terminal(now):
                task.webhook_done = True
                due.append(Webhook(task.webhook, self.task_dto(task), task.id))
        return due

    def created_tags(self) -> list[str]:
        """Each task's ``input.text``."""
        return [str(t.input.get("text")) for t in self.tasks.values()]

    # -- representation --------------------------------------------------------------
    def code(self, status: Any) -> Any:
        """A status as the server sends it (int code of the configured numbering, or a name)."""
        if not isinstance(status, str):
            return status
        if self.settings.inference_sh_status_names:
            return status
        if self.legacy:
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
            if self.legacy:
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
            "logs": [{"id": "log_1", "log_type": 1, "content": run_log(task, status, error)}] if done else [],
            "user_id": "user_emulator",
            "team_id": "team_emulator",
        }

    def status_dto(self, task: Task) -> dict[str, Any]:
        """The light status object."""
        status, since = task.status_at(self.now)
        if status == "rejected" and self.legacy:
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
                app.duration if app.duration is not None else self.settings.default_task_duration,
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
            log_lines=[str(line) for line in scenario.get("log_lines") or ()],
        )
        if session is not None:
            session.call_count += 1
            session.task_id = task.id
            session.last_activity = start + duration
        self.tasks[task.id] = task
        self.count("tasks_created")
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
            return self.take_scenario(app.ref)
        if not isinstance(scenario, dict):
            raise ApiError(400, "invalid_request", "_emulator must be an object")
        if scenario.get("outcome", "completed") not in OUTCOMES:
            raise ApiError(400, "invalid_request", f"_emulator.outcome must be one of {OUTCOMES}")
        return scenario

    def _run_at(self, value: Any) -> float | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ApiError(400, "invalid_request", "run_at must be an RFC 3339 string")
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, "invalid_request", "run_at must be an RFC 3339 string") from None
        if when.tzinfo is None:
            raise ApiError(400, "invalid_request", "run_at needs a time zone")
        return self.state.clock.at(when)

    def _session_for(self, ref: Any, app: AppSpec, timeout: int | None, now: float) -> Session | None:
        if ref is None:
            return None
        if not isinstance(ref, str) or not ref:
            raise ApiError(400, "invalid_request", "session must be a string")
        if ref == "new":
            session = Session(
                id=new_id("sess"),
                app=app,
                idle_timeout=float(timeout or self.settings.session_idle_timeout),
                created_at=now,
                last_activity=now,
                worker_id=new_id("worker"),
            )
            self.sessions[session.id] = session
            return session
        found = self.sessions.get(ref)
        if found is None:
            raise ApiError(404, "SESSION_NOT_FOUND", f"session {ref} not found")
        session = found
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
        uri = f"{base_url}{self.service.api_root}/files/{file_id}/{name}"
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
        """The task (404 when unknown or deleted)."""
        task = self.tasks.get(task_id)
        if task is None or task.deleted:
            raise ApiError(404, "not_found", "task not found")
        return task


def run_log(task: Task, status: str, error: str) -> str:
    """A finished task's run log: the app's own lines, its final status, the error if any."""
    lines = [*task.log_lines, f"{task.app.ref} {status}"]
    return "\n".join([*lines, f"error: {error}"] if error else lines)
