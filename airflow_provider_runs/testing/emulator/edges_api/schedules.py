"""Edges schedule routes: list, read, pause/resume/cancel (``specs/edges.md`` §2.3)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.emulator import EdgesEmulator
from airflow_provider_runs.testing.emulator.edges_api.errors import conflict, not_found
from airflow_provider_runs.testing.emulator.edges_api.query import page_of, sort_items
from airflow_provider_runs.testing.emulator.edges_api.store import Schedule
from airflow_provider_runs.testing.emulator.routing import Endpoints

VERBS = {"pause": "PAUSED", "resume": "ACTIVE", "cancel": "CANCELLED"}
"""Schedule action -> the status it leads to."""


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
        q = request.query_params
        window = page_of(request, A.LIST_LIMIT)
        rows = list(scheduler.schedules.values())
        if q.getlist("uid"):
            rows = [s for s in rows if s.uid in q.getlist("uid")]
        if q.getlist("status"):
            rows = [s for s in rows if s.status in q.getlist("status")]
        if q.get("action_name"):
            rows = [s for s in rows if s.action.slug in q.getlist("action_name")]
        rows = sort_items(rows, q.getlist("sort"), emu.now)
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
        return JSONResponse(scheduler.dto(schedule))
