"""Edges' web pages as the emulator serves them (see :mod:`..pages`): a run's, a schedule's."""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_runs.testing.emulator.edges_api.emulator import EdgesEmulator
from airflow_provider_runs.testing.emulator.pages import Page, add_page
from airflow_provider_runs.testing.emulator.routing import Endpoints


def add_pages(api: Endpoints, emu: EdgesEmulator) -> None:
    """Register ``/app/runs/{uid}`` and ``/app/schedules/{uid}``."""

    def run_page(params: Mapping[str, str]) -> Page | None:
        emu.tick()
        run = emu.runs.get(params["uid"])
        if run is None:
            return None
        status, since, _ = run.status_at(emu.now)
        fields = {"Run": run.uid, "Name": run.name, "Action": run.action.slug, "Status": status}
        return Page(f"Edges run {run.uid}", {**fields, "Updated": emu.iso(since)})

    def schedule_page(params: Mapping[str, str]) -> Page | None:
        emu.tick()
        schedule = emu.scheduler.schedules.get(params["uid"])
        if schedule is None:
            return None
        fields = {"Schedule": schedule.uid, "Name": schedule.name, "Action": schedule.action.slug}
        more = {"Status": schedule.status, "Cron": schedule.cron, "Next": emu.iso(schedule.next_execution_at)}
        return Page(f"Edges schedule {schedule.uid}", {**fields, **more})

    add_page(api, "/runs/{uid}", run_page, "Run not found")
    add_page(api, "/schedules/{uid}", schedule_page, "Schedule not found")
