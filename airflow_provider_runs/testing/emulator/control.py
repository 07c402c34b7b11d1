"""The ``/_emulator`` control API: reset, counters, faults, limits, scenarios, clock, webhooks.

Each emulated service may add routes below ``/_emulator`` (``EmulatedService.control_router``).

Counters (``GET /_emulator/counters``), one entry per service::

    {"<service>": {"requests": {"GET /tasks/{task_id}/status": 12, ...},
                   "tasks_created": 3, "runs_created": 0, "cancels": 1, "webhooks_sent": 2, ...},
     "requests_total": 40,
     "faults_injected": {"429": 2, "500": 0, "503": 1, "drop": 1, "latency": 0}}

``metered`` counts the requests that went through a rate-limit budget and ``rate_limited`` those
refused with a metering 429 (refused share = ``rate_limited / metered``); injected fault 429s are
in ``faults_injected``.

Rate limits (``GET``/``POST /_emulator/limits``; :mod:`.ratelimit`), per metered service: a
tier of its plan, or budgets per bucket (``null``: unlimited)::

    {"<service>": {"tier": "<tier>"}}
    {"<service>": {"<bucket>": 5, "<other bucket>": null}}

``POST /_emulator/reset`` restores the configured limits and empties every window.

Fault rules (``POST /_emulator/faults`` with a list): see
:class:`~airflow_provider_runs.testing.emulator.state.FaultRule`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_runs.testing.emulator.openapi import openapi_document
from airflow_provider_runs.testing.emulator.state import EmulatorState, FaultRule


def build_control_router(state: EmulatorState) -> APIRouter:
    """The control router, over the services of ``state`` and their emulator objects."""
    router = APIRouter(prefix="/_emulator")
    emulators = state.emulators

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        for emulator in emulators.values():
            emulator.reset()
        state.faults.clear()
        state.reset_counters()
        state.limits.restore()
        state.webhook_deliveries.clear()
        state.webhook_sink.clear()
        return {"reset": True}

    @router.get("/openapi.json")
    async def openapi() -> dict[str, Any]:
        """The service endpoints described from the specs (bodies and query parameters included)."""
        return openapi_document(state.services)

    @router.get("/created")
    async def created() -> dict[str, list[str]]:
        """A tag of every run created so far, by service: what a soak counts duplicates with
        (see each service's ``created_tags``)."""
        return {name: emulator.created_tags() for name, emulator in emulators.items()}

    @router.get("/counters")
    async def counters() -> dict[str, Any]:
        return state.counters()

    @router.post("/faults")
    async def add_faults(request: Request) -> JSONResponse:
        body = await request.json()
        rules = body if isinstance(body, list) else [body]
        try:
            parsed = [FaultRule(**{k: v for k, v in r.items() if not k.startswith("_")}) for r in rules]
        except (TypeError, ValueError) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        state.faults.extend(parsed)
        return JSONResponse({"faults": len(state.faults)})

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        state.faults.clear()
        return {"faults": 0}

    @router.get("/limits")
    async def get_limits() -> dict[str, Any]:
        return state.limits.describe()

    @router.post("/limits")
    async def set_limits(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"detail": "body must be JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"detail": "body must be an object of services"}, status_code=400)
        previous = (dict(state.limits.tiers), {k: dict(v) for k, v in state.limits.limits.items()})
        try:
            for service, settings in body.items():
                state.limits.configure(service, settings)
        except ValueError as exc:
            state.limits.tiers, state.limits.limits = previous
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse(state.limits.describe())

    @router.post("/clock/advance")
    async def advance(request: Request) -> dict[str, Any]:
        body = await request.json()
        state.clock.advance(float(body.get("seconds", 0)))
        return {"now": state.clock.now()}

    @router.post("/scenarios")
    async def scenarios(request: Request) -> JSONResponse:
        """Default scenarios of the next runs: ``{"service", "app", "count", "scenario"}``
        (``service`` defaults to the first emulated one)."""
        body = await request.json()
        emulator = emulators.get(body.get("service", next(iter(emulators), "")))
        if emulator is None:
            return JSONResponse({"detail": "unknown service"}, status_code=400)
        waiting = emulator.add_scenario(body.get("scenario") or {}, body.get("app"), body.get("count"))
        return JSONResponse({"scenarios": waiting})

    @router.get("/webhooks")
    async def webhooks() -> dict[str, Any]:
        return {"deliveries": state.webhook_deliveries, "received": state.webhook_sink}

    @router.post("/webhooks/sink")
    async def sink(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            body = (await request.body()).decode(errors="replace")
        state.webhook_sink.append({"headers": dict(request.headers), "body": body})
        return {"received": True}

    return router
