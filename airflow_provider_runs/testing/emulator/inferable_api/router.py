"""The Inferable router (``/inferable``): its guard (cluster keys) and its routes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.inferable_api.emulator import InferableEmulator
from airflow_provider_runs.testing.emulator.inferable_api.jobs import add_job_routes
from airflow_provider_runs.testing.emulator.inferable_api.pages import add_pages
from airflow_provider_runs.testing.emulator.inferable_api.runs import add_run_routes
from airflow_provider_runs.testing.emulator.ratelimit import Verdict
from airflow_provider_runs.testing.emulator.routing import Endpoints
from airflow_provider_runs.testing.emulator.service import EmulatedService
from airflow_provider_runs.testing.emulator.state import EmulatorState


def build_router(state: EmulatorState, service: EmulatedService) -> tuple[APIRouter, InferableEmulator]:
    """The Inferable router and its emulator object."""
    emu = InferableEmulator(state, service)
    router = APIRouter(prefix=service.api_root)

    def guard(request: Request, kind: str | None) -> Verdict | None:
        """A key of the path's cluster (the spec's 401s otherwise); ``kind`` ``create``: one that
        may create runs. The key's user id goes to ``request.state.user``. Never metered."""
        cluster = request.path_params.get("cluster")
        request.state.user = emu.authorize(request, cluster, creating=kind == "create")
        return None

    api = Endpoints(router, guard)
    add_run_routes(api, emu)
    add_job_routes(api, emu)
    add_pages(api, emu)

    @api.route("/contract", "GET", guarded=False)
    async def contract(request: Request) -> Response:
        return JSONResponse({"contract": "// emulated contract of the Inferable control plane"})

    api.listing("/public/oas.json", "Inferable (emulator)")
    return router, emu
