"""Edges action routes: live runs, async launches and schedule launches (``specs/edges.md`` §2.1-2.3)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.emulator import EdgesEmulator
from airflow_provider_runs.testing.emulator.edges_api.errors import EdgesError, bad_input
from airflow_provider_runs.testing.emulator.routing import Endpoints, own_url, read_json


async def body_of(request: Request) -> Any:
    """The request's JSON body (an empty one is ``{}``)."""
    return await read_json(request, bad_input("body is not valid JSON"))


def add_action_routes(api: Endpoints, emu: EdgesEmulator) -> None:
    """Register the launch routes (each with its undocumented alias without ``/run``)."""

    @api.route("/actions/{slug}/run/live", "POST", kind="live")
    async def run_live(request: Request) -> Response:
        action = emu.action(request.path_params["slug"])
        body = await body_of(request)
        if not isinstance(body, dict):
            raise bad_input("body must be an object")
        if "inputs" in body:
            raise bad_input("body must NOT have additional properties (inputs)")
        item = body.get("input")
        if not isinstance(item, dict):
            raise bad_input("body must have required property 'input'")
        problem = action.check(item)
        if problem:
            raise bad_input(problem)
        emu.check_identity(body, action)
        custom = item.get("custom_data")
        marker = custom.get("_emulator") if isinstance(custom, dict) else None
        if marker:
            status = int(marker.get("status", 424))
            params = {"postponed_until": emu.iso(emu.now + 3600)} if status == 429 else {}
            label = marker.get("label", "NO_RESULT")
            raise EdgesError(status, label, f"{label} (live)", params=params)
        emu.live_run(action, item, body)
        if not action.lists:
            return JSONResponse(action.results(item, 0)[0])
        page = int(request.query_params.get("cursor", "0") or 0)
        first = page * A.LIVE_PAGE_SIZE
        rows = [{**action.results(item, first + k)[0], "rank": first + k} for k in range(A.LIVE_PAGE_SIZE)]
        headers = {}
        if page + 1 < A.LIVE_PAGES:
            headers["X-Pagination-Next"] = f"{own_url(request)}?cursor={page + 1}"
        return JSONResponse(rows, headers=headers)

    async def run_async(request: Request) -> Response:
        run = emu.launch(request.path_params["slug"], await body_of(request))
        return JSONResponse(emu.handle(run), status_code=emu.settings.edges_launch_status_code)

    async def run_schedule(request: Request) -> Response:
        schedule = emu.scheduler.create(request.path_params["slug"], await body_of(request))
        return JSONResponse(emu.scheduler.dto(schedule), status_code=emu.settings.edges_launch_status_code)

    for path in ("/actions/{slug}/run/async", "/actions/{slug}/async"):
        api.route(path, "POST")(run_async)
    for path in ("/actions/{slug}/run/schedule", "/actions/{slug}/schedule"):
        api.route(path, "POST")(run_schedule)
