"""Inferable's console pages as the emulator serves them (see :mod:`..pages`): a run's page."""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_runs.testing.emulator.inferable_api.emulator import InferableEmulator
from airflow_provider_runs.testing.emulator.pages import Page, add_page
from airflow_provider_runs.testing.emulator.routing import Endpoints


def add_pages(api: Endpoints, emu: InferableEmulator) -> None:
    """Register ``/app/clusters/{cluster}/runs/{run_id}``."""

    def run_page(params: Mapping[str, str]) -> Page | None:
        run = emu.find(params["cluster"], params["run_id"])
        if run is None:
            return None
        status, _ = run.status_at(emu.now)
        fields = {"Cluster": params["cluster"], "Run": run.id, "Status": status}
        return Page(f"Inferable run {run.id}", {**fields, "Failure": run.failure_reason(emu.now)})

    add_page(api, "/clusters/{cluster}/runs/{run_id}", run_page, "Run not found")
