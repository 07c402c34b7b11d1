"""Inferable job and event routes: read, approve, cancel, events (``specs/inferable.md`` §3)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.inferable_api.emulator import InferableEmulator
from airflow_provider_runs.testing.emulator.inferable_api.errors import issue, shape_b
from airflow_provider_runs.testing.emulator.inferable_api.reading import json_body
from airflow_provider_runs.testing.emulator.inferable_api.store import Job
from airflow_provider_runs.testing.emulator.routing import Endpoints

JOBS = "/clusters/{cluster}/jobs/{job}"


def add_job_routes(api: Endpoints, emu: InferableEmulator) -> None:
    """Register the job and event routes (each one authorized for the path's cluster first)."""

    def job_of(request: Request) -> Job:
        return emu.find_job(request.path_params["cluster"], request.path_params["job"])

    @api.route(JOBS, "GET")
    async def get_job(request: Request) -> Response:
        return JSONResponse(emu.job_dto(request.path_params["cluster"], job_of(request)))

    @api.route(JOBS + "/approval", "POST")
    async def approve(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("approved"), bool):
            raise shape_b([issue(["approved"], "Required")])
        job = job_of(request)
        if job.approval_requested and job.approved is None:
            job.approved = body["approved"]
            job.decided_at = emu.now
            if job.approved:
                job.done_at = emu.now + emu.step
            emu.count("approvals")
        return Response(status_code=204)

    @api.route(JOBS + "/cancel", "POST")
    async def cancel_job(request: Request) -> Response:
        job = job_of(request)
        if job.cancelled_at is None:
            job.cancelled_at = emu.now
        return Response(status_code=204)

    @api.route("/clusters/{cluster}/events", "GET")
    async def events(request: Request) -> Response:
        q = request.query_params
        items = emu.events(request.path_params["cluster"])
        for key in ("runId", "type", "jobId"):
            if q.get(key):
                items = [e for e in items if e.get(key) == q[key]]
        return JSONResponse(items)
