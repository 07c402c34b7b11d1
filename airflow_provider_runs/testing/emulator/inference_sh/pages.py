"""inference.sh's web pages as the emulator serves them (see :mod:`..pages`): a task's page."""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_runs.testing.emulator.inference_sh.emulator import InferenceShEmulator
from airflow_provider_runs.testing.emulator.pages import Page, add_page
from airflow_provider_runs.testing.emulator.routing import Endpoints


def add_pages(api: Endpoints, emu: InferenceShEmulator) -> None:
    """Register ``/app/tasks/{task_id}``."""

    def task_page(params: Mapping[str, str]) -> Page | None:
        task = emu.tasks.get(params["task_id"])
        if task is None or task.deleted:
            return None
        status, since = task.status_at(emu.now)
        fields = {
            "Task": task.id,
            "App": task.app.ref,
            "Status": status,
            "Updated": emu.state.clock.iso(since),
        }
        return Page(f"inference.sh task {task.id}", {**fields, "Error": task.error or None})

    add_page(api, "/tasks/{task_id}", task_page, "Task not found")
