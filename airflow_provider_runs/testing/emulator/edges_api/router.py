"""The Edges router (``/edges/v1``): its guard (``X-API-Key``, plan budgets) and its routes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.actions_routes import add_action_routes
from airflow_provider_runs.testing.emulator.edges_api.callbacks import add_callback_routes
from airflow_provider_runs.testing.emulator.edges_api.emulator import EdgesEmulator
from airflow_provider_runs.testing.emulator.edges_api.errors import EdgesError
from airflow_provider_runs.testing.emulator.edges_api.pages import add_pages
from airflow_provider_runs.testing.emulator.edges_api.runs import add_run_routes
from airflow_provider_runs.testing.emulator.edges_api.scheduler import WORKSPACE
from airflow_provider_runs.testing.emulator.edges_api.schedules import add_schedule_routes
from airflow_provider_runs.testing.emulator.ratelimit import Verdict
from airflow_provider_runs.testing.emulator.routing import Endpoints
from airflow_provider_runs.testing.emulator.service import EmulatedService
from airflow_provider_runs.testing.emulator.state import EmulatorState

IDENTITY_UID = "6f0c7a2e-0000-4000-8000-000000000003"
IDENTITY = {
    "workspace_uid": WORKSPACE,
    "name": "Emulated identity",
    "type": "standard",
    "timezone": "Europe/Paris",
    "integrations": [],
}


def build_router(state: EmulatorState, service: EmulatedService) -> tuple[APIRouter, EdgesEmulator]:
    """The Edges router and its emulator object."""
    emu = EdgesEmulator(state, service)
    router = APIRouter(prefix=service.api_root)

    def guard(request: Request, bucket: str | None) -> Verdict | None:
        """A valid ``X-API-Key`` (401 otherwise), then the key's budget (spec §6.3): every
        ``/runs`` route shares one, live actions have their own; 429 ``STATUS_429`` past it,
        without ``Retry-After``."""
        key = request.headers.get("x-api-key")
        if not key or key not in emu.settings.edges_api_keys:
            raise EdgesError(401, "UNAUTHORIZED", "Missing or invalid API key", "auth")
        verdict = state.meter(emu.name, bucket, key) if bucket else None
        if verdict is not None and not verdict.allowed:
            kind = A.RATE_LIMIT_TYPES[bucket or ""]
            headers = {"X-RateLimit-Type": kind, "X-RateLimit-Remaining": "0"}
            if A.RETRY_AFTER_ON_RATE_LIMIT:
                headers["Retry-After"] = str(state.limits.retry_after(verdict))
            message = f"Rate limit reached: {verdict.limit} requests per minute ({kind})"
            raise EdgesError(429, "STATUS_429", message, "server", headers=headers)
        return verdict

    def decorate(response: Response, verdict: Verdict) -> None:
        response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)

    api = Endpoints(router, guard, decorate)
    add_action_routes(api, emu)
    add_callback_routes(api, emu)  # before /runs/{uid}: /runs/callbacks is no run
    add_run_routes(api, emu)
    add_schedule_routes(api, emu)
    add_pages(api, emu)

    @api.route("/identities", "GET")
    async def identities(request: Request) -> Response:
        return JSONResponse([{"uid": IDENTITY_UID, "created_at": emu.iso(0), **IDENTITY}])

    @api.route("/workspaces", "GET")
    async def workspaces(request: Request) -> Response:
        return JSONResponse([{"uid": WORKSPACE, "name": "Emulated workspace"}])

    return router, emu
