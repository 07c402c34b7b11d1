"""The ``/_emulator`` control API: reset, counters, faults, limits, scenarios, clock, webhooks.

Counters (``GET /_emulator/counters``)::

    {"inference_sh": {"requests": {"GET /tasks/{task_id}/status": 12, ...},
                      "tasks_created": 3, "cancels": 1, "webhooks_sent": 2, ...},
     "inferable": {...}, "edges": {...}, "requests_total": 40,
     "faults_injected": {"429": 2, "500": 0, "503": 1, "drop": 1, "latency": 0}}

``metered`` counts the requests that went through a rate-limit budget and ``rate_limited`` those
refused with a metering 429 (refused share = ``rate_limited / metered``); injected fault 429s are
in ``faults_injected``.

Rate limits (``GET``/``POST /_emulator/limits``; :mod:`.ratelimit`)::

    {"edges": {"tier": "silver"}}              # trial ... titanium, unlimited
    {"edges": {"requests_per_minute": 150}}    # the /runs/* budget; also live_requests_per_minute
    {"inference_sh": {"run": 5, "get": null}}  # or {"tier": "documented" | "unlimited"}

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


def build_control_router(state: EmulatorState, services: dict[str, Any]) -> APIRouter:
    """The control router; ``services`` maps service names to emulator objects with ``reset()``."""
    router = APIRouter(prefix="/_emulator")

    @router.post("/reset")
    async def reset() -> dict[str, Any]:
        for service in services.values():
            service.reset()
        state.faults.clear()
        state.reset_counters()
        state.limits.restore()
        state.webhook_deliveries.clear()
        state.webhook_sink.clear()
        return {"reset": True}

    @router.get("/openapi.json")
    async def openapi() -> dict[str, Any]:
        """The service endpoints described from the specs (bodies and query parameters included)."""
        return openapi_document()

    @router.get("/created")
    async def created() -> dict[str, list[str]]:
        """Every run created so far, by its tag: what a soak counts duplicates with.

        The tag is an inference.sh task's ``input.text``, or the ``tag`` of an Inferable or Edges
        run's ``_emulator`` scenario (``context._emulator.tag`` / ``parameters._emulator.tag``).
        """
        tags: dict[str, list[str]] = {}
        if (emu := services.get("inference_sh")) is not None:
            tags["inference_sh"] = [str(t.input.get("text")) for t in emu.tasks.values()]
        for name in ("inferable", "edges"):
            if (emu := services.get(name)) is not None:
                tags[name] = [str(r.scenario.get("tag")) for r in emu.runs.values()]
        return tags

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
        body = await request.json()
        service = services.get(body.get("service", "inference_sh"))
        if service is None or not hasattr(service, "scenarios"):
            return JSONResponse({"detail": "unknown service"}, status_code=400)
        service.scenarios.append(
            {"app": body.get("app"), "remaining": body.get("count"), "scenario": body.get("scenario") or {}}
        )
        return JSONResponse({"scenarios": len(service.scenarios)})

    @router.get("/tasks")
    async def tasks() -> list[dict[str, Any]]:
        emu = services.get("inference_sh")
        return [emu.task_dto(t) | {"deleted": t.deleted} for t in emu.tasks.values()] if emu else []

    @router.post("/bench/tasks")
    async def bench_tasks(request: Request) -> dict[str, Any]:
        """Create many echo tasks at once (benchmarks): ``{"durations": [s, ...]}``."""
        import time

        body = await request.json()
        emu = services["inference_sh"]
        base = str(request.base_url).rstrip("/")
        ids, done_at = [], []
        for i, duration in enumerate(body.get("durations") or []):
            payload = {
                "app": "acme/echo@v1",
                "input": {"text": f"bench {i}", "_emulator": {"duration": duration}},
            }
            task = emu.create(payload, base)
            ids.append(task.id)
            done_at.append(time.time() + state.clock.real_seconds(float(duration)))
        return {"ids": ids, "done_at": done_at}

    @router.get("/bench/tasks/{task_id}/status")
    async def bench_status(task_id: str) -> JSONResponse:
        """The light status, but 404 until the task ended (what ``HttpSensorTrigger`` waits for)."""
        emu = services["inference_sh"]
        state.count("bench", "status_polls")
        task = emu.tasks.get(task_id)
        if task is None or not task.is_terminal(emu.now):
            return JSONResponse({"detail": "not finished"}, status_code=404)
        return JSONResponse(emu.status_dto(task))

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
