"""``create_app``: one FastAPI app, one router per emulated service, faults and counters around them.

Extra routers (``extra_routers``, or ``--extra-router module:function`` on the command line) are
functions ``(state) -> APIRouter`` mounted on the app as they are: the benchmarks add their
bulk-creation routes below ``/_emulator/bench`` that way (``benchmarks/emulator_routes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from importlib.util import module_from_spec, spec_from_file_location

from fastapi import APIRouter, FastAPI

from airflow_provider_runs.services.descriptor import load_object
from airflow_provider_runs.testing.emulator.config import EmulatorConfig
from airflow_provider_runs.testing.emulator.control import build_control_router
from airflow_provider_runs.testing.emulator.faults import FaultMiddleware
from airflow_provider_runs.testing.emulator.state import EmulatorState
from airflow_provider_runs.testing.emulator.webhooks import deliver_webhooks

ExtraRouter = Callable[[EmulatorState], APIRouter]
"""Builds routes mounted next to the services' (given the emulator's state)."""


def load_extra_router(path: str) -> ExtraRouter:
    """``package.module:function``, or ``path/to/file.py:function`` (loaded from that file)."""
    location, _, name = path.rpartition(":")
    if not location.endswith(".py"):
        return load_object(path)  # type: ignore[no-any-return]
    spec = spec_from_file_location(f"_emulator_extra_{abs(hash(location))}", location)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {location}")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)  # type: ignore[no-any-return]


def create_app(
    config: EmulatorConfig | None = None, extra_routers: Sequence[ExtraRouter | str] = ()
) -> FastAPI:
    """Build the emulator app for ``config``.

    :param config: the settings (default: ``EmulatorConfig()``).
    :param extra_routers: more routes: functions ``(state) -> APIRouter``, or their paths
        (see :func:`load_extra_router`).
    """
    state = EmulatorState(config or EmulatorConfig())
    routers = []
    for service in state.services:
        router, emulator = service.build_router(state)
        state.emulators[service.name] = emulator
        routers.append(router)
        if (control := service.control_router(emulator)) is not None:
            routers.append(control)
    for extra in extra_routers:
        routers.append((load_extra_router(extra) if isinstance(extra, str) else extra)(state))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(deliver_webhooks(state))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(title="airflow-provider-runs emulator", lifespan=lifespan, docs_url=None, redoc_url=None)
    for router in routers:
        app.include_router(router)
    app.include_router(build_control_router(state))
    app.state.emulator = state
    app.state.services = state.emulators
    app.add_middleware(FaultMiddleware, state=state)
    return app
