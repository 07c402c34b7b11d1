"""inference.sh's extra control route: ``GET /_emulator/tasks``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from airflow_provider_runs.testing.emulator.inference_sh.emulator import InferenceShEmulator
from airflow_provider_runs.testing.emulator.service import ServiceEmulator


def build_control_router(emulator: ServiceEmulator) -> APIRouter:
    """The router (below ``/_emulator``)."""
    assert isinstance(emulator, InferenceShEmulator)
    emu = emulator
    router = APIRouter(prefix="/_emulator")

    @router.get("/tasks")
    async def tasks() -> list[dict[str, Any]]:
        """Every task (deleted ones too, marked), as the emulator sees it."""
        return [emu.task_dto(t) | {"deleted": t.deleted} for t in emu.tasks.values()]

    return router
