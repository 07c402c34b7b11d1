"""Edges schedule routes: list, read, pause/resume/cancel (``specs/edges.md`` §2.3)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.emulator import EdgesEmulator
from airflow_provider_runs.testing.emulator.edges_api.errors import bad_parameters, conflict, not_found
from airflow_provider_runs.testing.emulator.edges_api.query import page_of, sort_items, values
from airflow_provider_runs.testing.emulator.edges_api.scheduler import USER
from airflow_provider_runs.testing.emulator.edges_api.store import Schedule
from airflow_provider_runs.testing.emulator.routing import Endpoints

VERBS = {"pause": "PAUSED", "resume": "ACTIVE", "cancel": "CANCELLED"}
"""Schedule action -> the status it leads to."""
STATUSES = ("ACTIVE", "CANCELLED", "PAUSED", "COMPLETED")
"""The schedule status enum (spec §2.11)."""


def add_schedule_routes(api: Endpoints, emu: EdgesEmulator) -> None:
    """Register the schedule routes (not metered)."""
    scheduler = emu.scheduler

    def schedule_of(request: Request) -> Schedule:
        emu.tick()
        uid = request.path_params["uid"]
        schedule = scheduler.schedules.get(uid)
        if schedule is None:
            raise not_found(f"Schedule {uid} not found")
        return schedule

    @api.route("/schedules", "GET")
    async def list_schedules(request: Request) -> Response:
        emu.tick()
        window = page_of(request, A.LIST_LIMIT)
        rows = list(scheduler.schedules.values())
        statuses = values(request, "status")
        if any(s not in STATUSES for s in statuses):
            raise bad_parameters("querystring/status must be equal to one of the allowed values")
        if values(request, "uid"):
            rows = [s for s in rows if s.uid in values(request, "uid")]
        if statuses:
            rows = [s for s in rows if s.status in statuses]
        if values(request, "action_name"):
            rows = [s for s in rows if s.action.slug in values(request, "action_name")]
        if values(request, "user_uid"):  # every schedule belongs to the emulator's one member
            rows = [s for s in rows if USER in values(request, "user_uid")]
        # ``workspace_uid``: the key's workspace is the only one; the filter changes nothing
        rows.sort(key=lambda s: s.created_at)
        rows = sort_items(rows, values(request, "sort"), emu.now)
        return JSONResponse([scheduler.dto(s) for s in rows[window]])

    @api.route("/schedules/{uid}", "GET")
    async def get_schedule(request: Request) -> Response:
        return JSONResponse(scheduler.dto(schedule_of(request)))

    @api.route("/schedules/{uid}/{verb}", "POST")
    async def schedule_action(request: Request) -> Response:
        schedule = schedule_of(request)
        verb = request.path_params["verb"]
        if verb not in VERBS:
            raise not_found(f"unknown schedule action {verb}")
        if schedule.status in ("CANCELLED", "COMPLETED"):
            raise conflict(f"Schedule is {schedule.status}")
        schedule.status = VERBS[verb]
        schedule.next_execution_at = scheduler.next_fire(schedule, emu.now)
        scheduler.updated[schedule.uid] = emu.now
        emu.count(f"schedules_{verb}")
        return JSONResponse(scheduler.dto(schedule))
