"""``create_app``: one FastAPI app, one router per service, faults and counters around them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import FastAPI

from airflow_provider_runs.testing.emulator.config import EmulatorConfig
from airflow_provider_runs.testing.emulator.control import build_control_router
from airflow_provider_runs.testing.emulator.faults import FaultMiddleware
from airflow_provider_runs.testing.emulator.state import EmulatorState
from airflow_provider_runs.testing.emulator.webhooks import deliver_webhooks

ROUTER_BUILDERS: dict[str, str] = {
    "inference_sh": "airflow_provider_runs.testing.emulator.inference_sh.router:build_router",
    "inferable": "airflow_provider_runs.testing.emulator.inferable_api.router:build_router",
    "edges": "airflow_provider_runs.testing.emulator.edges_api.router:build_router",
}
"""Service name -> ``module:function`` returning ``(APIRouter, emulator object)``."""


def _load(path: str):
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def create_app(config: EmulatorConfig | None = None) -> FastAPI:
    """Build the emulator app for ``config``."""
    config = config or EmulatorConfig()
    state = EmulatorState(config)
    services: dict[str, Any] = {}
    routers = []
    for name, builder in ROUTER_BUILDERS.items():
        router, emulator = _load(builder)(state)
        services[name] = emulator
        routers.append(router)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        task = asyncio.create_task(deliver_webhooks(state, services))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(title="airflow-provider-runs emulator", lifespan=lifespan, docs_url=None, redoc_url=None)
    for router in routers:
        app.include_router(router)
    app.include_router(build_control_router(state, services))
    app.state.emulator = state
    app.state.services = services
    app.add_middleware(FaultMiddleware, state=state)
    return app
