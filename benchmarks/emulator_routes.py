"""Benchmark-only emulator routes, mounted by the benchmarks (not part of the emulator package).

``EmulatorProcess`` (``benchmarks/common.py``) starts the emulator with
``--extra-router benchmarks/emulator_routes.py:build_router``; in a process of one's own:
``create_app(config, extra_routers=[build_router])``.

- ``POST /_emulator/bench/tasks`` ``{"durations": [s, ...]}``: create that many inference.sh echo
  tasks at once; answers their ids and the wall-clock times they end.
- ``GET /_emulator/bench/tasks/{task_id}/status``: the light status, but 404 until the task ended
  (what ``HttpSensorTrigger`` waits for); counted as ``bench.status_polls``.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from airflow_provider_runs.testing.emulator.state import EmulatorState

SERVICE = "inference_sh"
"""The service whose tasks the benchmarks create."""


def build_router(state: EmulatorState) -> APIRouter:
    """The benchmark routes over ``state``'s inference.sh emulator."""
    router = APIRouter(prefix="/_emulator/bench")

    @router.post("/tasks")
    async def bench_tasks(request: Request) -> dict[str, Any]:
        """Create many echo tasks at once: ``{"durations": [s, ...]}``."""
        body = await request.json()
        emu: Any = state.emulators[SERVICE]
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

    @router.get("/tasks/{task_id}/status")
    async def bench_status(task_id: str) -> JSONResponse:
        """The light status, but 404 until the task ended (what ``HttpSensorTrigger`` waits for)."""
        emu: Any = state.emulators[SERVICE]
        state.count("bench", "status_polls")
        task = emu.tasks.get(task_id)
        if task is None or not task.is_terminal(emu.now):
            return JSONResponse({"detail": "not finished"}, status_code=404)
        return JSONResponse(emu.status_dto(task))

    return router
