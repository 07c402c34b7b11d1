"""inference.sh task routes: run, read, list, stream, cancel, delete (``specs/inference_sh.md`` §3)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from airflow_provider_runs.testing.emulator.inference_sh.emulator import InferenceShEmulator
from airflow_provider_runs.testing.emulator.inference_sh.errors import ApiError
from airflow_provider_runs.testing.emulator.inference_sh.listing import list_tasks
from airflow_provider_runs.testing.emulator.inference_sh.store import TERMINAL, Task
from airflow_provider_runs.testing.emulator.routing import Endpoints, read_json


async def json_body(request: Request, required: bool = True) -> Any:
    """The request's JSON body; an empty one is ``{}`` unless ``required``."""
    empty = ApiError(400, "invalid_request", "request body is required") if required else None
    return await read_json(
        request, ApiError(400, "invalid_request", "request body is not valid JSON"), empty=empty
    )


async def object_body(request: Request) -> dict[str, Any]:
    """The request's optional JSON object body."""
    body = await json_body(request, required=False)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "body must be an object")
    return body


def add_task_routes(api: Endpoints, emu: InferenceShEmulator) -> None:
    """Register the task routes."""

    def task_of(request: Request) -> Task:
        return emu.get_task(request.path_params["task_id"])

    async def run(request: Request) -> Response:
        body = await json_body(request)
        task = emu.create(body, str(request.base_url).rstrip("/"))
        wait = request.query_params.get("wait")
        wants_wait = (
            (wait or "").lower() in ("true", "1") if wait is not None else bool(body.get("wait", False))
        )
        if wants_wait:
            waited = 0.0
            while not task.is_terminal(emu.now) and waited < emu.settings.max_wait_seconds:
                await asyncio.sleep(0.05)
                waited += 0.05
        return emu.respond(request, emu.task_dto(task))

    api.route("/run", "POST", kind="run")(run)
    api.route("/apps/run", "POST", kind="run")(run)

    @api.route("/tasks/queue-stats", "GET")
    async def queue_stats(request: Request) -> Response:
        now = emu.now
        live = [t for t in emu.tasks.values() if not t.deleted]
        queued = [t for t in live if t.status_at(now)[0] in ("received", "queued")]
        stats = {
            "total_queued": len(queued),
            "with_run_at": sum(1 for t in queued if t.request.get("run_at")),
            "ready_to_run": sum(1 for t in queued if t.start_at <= now),
            "in_progress": sum(1 for t in live if t.status_at(now)[0] not in TERMINAL) - len(queued),
            "by_app": [],
        }
        return emu.respond(request, stats)

    @api.route("/tasks/list", "POST")
    async def list_post(request: Request) -> Response:
        return emu.respond(request, list_tasks(emu, await object_body(request)))

    @api.route("/tasks", "GET")
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
        return emu.respond(request, list_tasks(emu, body))

    @api.route("/tasks/{task_id}", "GET", kind="get")
    async def get_task(request: Request) -> Response:
        return emu.respond(request, emu.task_dto(task_of(request)))

    @api.route("/tasks/{task_id}", "DELETE")
    async def delete_task(request: Request) -> Response:
        task = task_of(request)
        if not task.is_terminal(emu.now):
            raise ApiError(409, "invalid_transition", "only finished tasks can be deleted")
        task.deleted = True
        return Response(status_code=204)

    @api.route("/tasks/{task_id}/status", "GET", kind="get")
    async def get_status(request: Request) -> Response:
        return emu.respond(request, emu.status_dto(task_of(request)))

    @api.route("/tasks/{task_id}/stream", "GET")
    async def stream(request: Request) -> Response:
        task = task_of(request)
        ndjson = "application/x-ndjson" in request.headers.get("accept", "")
        return StreamingResponse(
            _stream(emu, task, ndjson), media_type="application/x-ndjson" if ndjson else "text/event-stream"
        )

    @api.route("/tasks/{task_id}/cancel", "POST")
    async def cancel(request: Request) -> Response:
        task = task_of(request)
        body = await object_body(request)
        if task.is_terminal(emu.now):
            raise ApiError(409, "invalid_transition", "task already finished")
        if task.cancelled_at is None:
            task.cancelled_at = emu.now - (1.0 if body.get("force") else 0.0)
            emu.count("cancels")
        return emu.respond(request, {"id": task.id, "status": emu.code("cancelled"), "cancelled": True})

    @api.route("/tasks/{task_id}/logs", "GET")
    async def logs(request: Request) -> Response:
        task = task_of(request)
        dto = emu.task_dto(task)
        logs = {"task_id": task.id, "status": dto["status"], "events": dto["events"], "logs": dto["logs"]}
        return emu.respond(request, logs)

    @api.route("/tasks/{task_id}/timings", "GET")
    async def timings(request: Request) -> Response:
        task = task_of(request)
        queued = task.start_at - task.created_at
        return emu.respond(request, {"task_id": task.id, "queued": queued, "running": task.duration})

    @api.route("/usage/tasks/{task_id}/cost", "GET")
    async def cost(request: Request) -> Response:
        if not task_of(request).is_terminal(emu.now):
            raise ApiError(404, "not_found", "cost not recorded yet")
        return emu.respond(request, {"total": 1500, "charged": 1500})


async def _stream(emu: InferenceShEmulator, task: Task, ndjson: bool) -> AsyncIterator[str]:
    """Live updates: a full task on each status change, heartbeats, the full terminal task."""
    heartbeat = emu.settings.stream_heartbeat_seconds
    terminal_codes = {emu.code(s) for s in TERMINAL}
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
                if first or dto["status"] in terminal_codes:
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
