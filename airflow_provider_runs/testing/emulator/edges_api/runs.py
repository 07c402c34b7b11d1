"""Edges run routes: list, read, status, outputs, inputs, resume, continue (``specs/edges.md`` §2.4-2.9)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.emulator import EdgesEmulator
from airflow_provider_runs.testing.emulator.edges_api.errors import bad_parameters, conflict
from airflow_provider_runs.testing.emulator.edges_api.query import int_arg, page_of, sort_items, values
from airflow_provider_runs.testing.emulator.edges_api.scheduler import USER
from airflow_provider_runs.testing.emulator.edges_api.store import Run
from airflow_provider_runs.testing.emulator.routing import Endpoints, own_url

RUN_STATUSES = (
    "CREATED",
    "INVALID",
    "QUEUED",
    "SCHEDULED",
    "BLOCKED",
    "STOPPED",
    "RUNNING",
    "FAILED",
    "PARTIAL_SUCCEEDED",
    "SUCCEEDED",
)
FILTERS = ("status", "action_name", "execution_mode", "uid", "user_uid", "flow_run_id")
"""The list's filters, in the order they apply."""


def add_run_routes(api: Endpoints, emu: EdgesEmulator) -> None:
    """Register the run routes (every one meters against the ``runs`` budget)."""

    def run_of(request: Request) -> Run:
        return emu.get_run(request.path_params["uid"])

    getters: dict[str, Callable[[Run], Any]] = {
        "status": lambda r: r.status_at(emu.now)[0],
        "action_name": lambda r: r.action.slug,
        "execution_mode": lambda r: r.mode,
        "uid": lambda r: r.uid,
        "user_uid": lambda r: USER,
    }

    @api.route("/runs", "GET", kind="runs")
    async def list_runs(request: Request) -> Response:
        emu.tick()
        window = page_of(request, A.LIST_LIMIT)
        runs = list(emu.runs.values())
        for key in FILTERS:
            wanted = values(request, key)
            if not wanted:
                continue
            if key == "status" and any(v not in RUN_STATUSES for v in wanted):
                raise bad_parameters("querystring/status must be equal to one of the allowed values")
            if key == "flow_run_id":
                runs = []
                continue
            runs = [r for r in runs if getters[key](r) in wanted]
        runs.sort(key=lambda r: r.id)
        runs = sort_items(runs, values(request, "sort"), emu.now)
        return JSONResponse([emu.run_dto(r) for r in runs[window]])

    @api.route("/runs/{uid}", "GET", kind="runs")
    async def get_run(request: Request) -> Response:
        return JSONResponse(emu.run_dto(run_of(request)))

    @api.route("/runs/{uid}/status", "GET", kind="runs")
    async def run_status(request: Request) -> Response:
        return JSONResponse(emu.status_dto(run_of(request)))

    @api.route("/runs/{uid}/outputs", "GET", kind="runs")
    async def outputs(request: Request) -> Response:
        run = run_of(request)
        if run.mode == "LIVE":
            raise bad_parameters("outputs are not available for live runs")
        limit = int_arg(request, "limit", A.OUTPUTS_LIMIT)
        q = request.query_params
        start = int(q.get("cursor") or q.get("offset") or 0)
        rows = emu.outputs(run, start, limit)
        headers = {}
        if start + limit < emu.output_count(run):
            headers["X-Pagination-Next"] = f"{own_url(request)}?limit={limit}&cursor={start + limit}"
        return JSONResponse(rows, headers=headers)

    @api.route("/runs/{uid}/inputs", "GET", kind="runs")
    async def inputs(request: Request) -> Response:
        run = run_of(request)
        window = page_of(request, A.INPUTS_LIMIT)
        now = emu.now
        indices = range(len(run.inputs))[window]
        return JSONResponse([_input_row(emu, run, i, now) for i in indices])

    @api.route("/runs/{uid}/resume", "POST", kind="runs")
    async def resume(request: Request) -> Response:
        run = run_of(request)
        status = run.status_at(emu.now)[0]
        if status not in A.RESUMABLE:
            raise conflict(f"Run is {status}; only BLOCKED or STOPPED runs can be resumed")
        run.resumes += 1
        run.segments = [s for s in run.segments if s[0] <= emu.now]
        run.plan(emu.now, first=False)
        emu.count("resumes")
        return JSONResponse(emu.run_dto(run))

    @api.route("/runs/{uid}/continue", "POST", kind="runs")
    async def continue_run(request: Request) -> Response:
        run = run_of(request)
        if run.action.slug not in A.INCREMENTAL_ACTIONS or run.parameters.get("sync_mode") != "incremental":
            raise bad_parameters("only incremental runs can be continued")
        status = run.status_at(emu.now)[0]
        if status not in A.CONTINUABLE:
            raise conflict(f"Run is {status}; it cannot be continued yet")
        run.segments = [s for s in run.segments if s[0] <= emu.now] + [(emu.now, "SCHEDULED", None)]
        run.plan(emu.now + 0.01, first=False)
        return JSONResponse(emu.run_dto(run))


def _input_row(emu: EdgesEmulator, run: Run, i: int, now: float) -> dict[str, Any]:
    """One input of a run, with its status and error."""
    item = run.inputs[i]
    status = run.input_status(i, now)
    error = run.failed.get(i) if status in ("FAILED", "BLOCKED") else None
    last_error = None
    if error:
        last_error = {
            "has_failed": True,
            "message": error["message"],
            "scope": "input",
            "label": error["label"],
            "error_ref": f"ERR-{i}",
            "params": {},
            "validation_errors": {},
        }
    return {
        "uid": f"{run.uid[:24]}{i:012d}",
        "status": status,
        "input_data": {k: v for k, v in item.items() if k != "custom_data"}
        if isinstance(item, dict)
        else item,
        "custom_data": item.get("custom_data") if isinstance(item, dict) else None,
        "output_count": 0 if error else (2 if run.action.lists else 1),
        "retry_count": 0,
        "last_error": last_error,
        "started_at": emu.iso(run.created_at),
        "finished_at": emu.iso(run.end_time()),
        "created_at": emu.iso(run.created_at),
        "updated_at": emu.iso(run.created_at),
    }
