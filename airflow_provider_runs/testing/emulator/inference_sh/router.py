"""The inference.sh router: its guard (Bearer key, per-bucket metering) and its routes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from airflow_provider_runs.testing.emulator.inference_sh.emulator import InferenceShEmulator
from airflow_provider_runs.testing.emulator.inference_sh.errors import ApiError, fail
from airflow_provider_runs.testing.emulator.inference_sh.files import add_file_routes
from airflow_provider_runs.testing.emulator.inference_sh.pages import add_pages
from airflow_provider_runs.testing.emulator.inference_sh.sessions import add_session_routes
from airflow_provider_runs.testing.emulator.inference_sh.tasks import add_task_routes
from airflow_provider_runs.testing.emulator.ratelimit import Verdict
from airflow_provider_runs.testing.emulator.routing import Endpoints, ServiceError
from airflow_provider_runs.testing.emulator.service import EmulatedService
from airflow_provider_runs.testing.emulator.state import EmulatorState


def build_router(state: EmulatorState, service: EmulatedService) -> tuple[APIRouter, InferenceShEmulator]:
    """The inference.sh router and its emulator object."""
    emu = InferenceShEmulator(state, service)
    router = APIRouter(prefix=service.api_root)

    def metering_headers(verdict: Verdict) -> dict[str, str]:
        return {
            "X-RateLimit-Remaining": str(verdict.remaining),
            "X-RateLimit-Reset": str(state.limits.reset_epoch(verdict)),
        }

    def guard(request: Request, bucket: str | None) -> Verdict | None:
        """A valid Bearer key (401 otherwise), then the bucket's budget (spec §8.3): 429 with
        ``Retry-After`` past it."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or key.strip() not in emu.settings.inference_sh_api_keys:
            raise ApiError(401, "unauthorized", "missing or invalid API key")
        verdict = state.meter(emu.name, bucket, key.strip()) if bucket else None
        if verdict is not None and not verdict.allowed:
            detail = f"rate limit exceeded: {verdict.limit} {bucket} requests per minute"
            headers = {"Retry-After": str(state.limits.retry_after(verdict)), **metering_headers(verdict)}
            raise ApiError(429, "rate_limited", detail, headers=headers)
        return verdict

    def decorate(response: Response, verdict: Verdict) -> None:
        response.headers.update(metering_headers(verdict))

    def render(request: Request, err: ServiceError) -> Response:
        return fail(request, emu.envelope, err)

    api = Endpoints(router, guard, decorate, render)
    add_task_routes(api, emu)
    add_file_routes(api, emu)
    add_session_routes(api, emu)
    add_pages(api, emu)
    api.listing("/openapi.json", "inference.sh (emulator)")
    return router, emu
