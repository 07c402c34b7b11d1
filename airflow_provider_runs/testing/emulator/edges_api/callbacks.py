"""Edges callback routes: list, read, replay (``specs/edges.md`` §2.10)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.emulator import EdgesEmulator
from airflow_provider_runs.testing.emulator.edges_api.errors import bad_parameters, conflict, not_found
from airflow_provider_runs.testing.emulator.edges_api.query import page_of
from airflow_provider_runs.testing.emulator.edges_api.store import new_uid
from airflow_provider_runs.testing.emulator.routing import Endpoints


def shown(record: dict[str, Any]) -> dict[str, Any]:
    """A callback record as the API shows it (without the body sent)."""
    return {k: v for k, v in record.items() if k != "body"}


def add_callback_routes(api: Endpoints, emu: EdgesEmulator) -> None:
    """Register the callback routes (below ``/runs``: they meter against the ``runs`` budget)."""

    def callback_of(request: Request) -> dict[str, Any]:
        uid = request.path_params["cb"]
        for record in emu.callbacks:
            if record["uid"] == uid:
                return record
        raise not_found(f"Callback {uid} not found")

    @api.route("/runs/callbacks", "GET", kind="runs")
    async def list_callbacks(request: Request) -> Response:
        window = page_of(request, A.CALLBACKS_LIMIT)
        q = request.query_params
        rows = emu.callbacks
        if q.getlist("run_uid"):
            rows = [c for c in rows if c["run_uid"] in q.getlist("run_uid")]
        if q.getlist("status"):
            rows = [c for c in rows if c["status"] in q.getlist("status")]
        return JSONResponse([shown(c) for c in rows[window]])

    @api.route("/runs/callbacks/{cb}", "GET", kind="runs")
    async def get_callback(request: Request) -> Response:
        return JSONResponse(shown(callback_of(request)))

    @api.route("/runs/callbacks/{cb}/replay", "POST", kind="runs")
    async def replay_callback(request: Request) -> Response:
        original = callback_of(request)
        if original["parent_uid"] is not None:
            raise bad_parameters("only original callbacks can be replayed")
        replays = [c for c in emu.callbacks if c["parent_uid"] == original["uid"]]
        if len(replays) >= A.MAX_REPLAYS:
            raise conflict(f"a callback can be replayed at most {A.MAX_REPLAYS} times")
        record = {**original, "uid": new_uid(), "parent_uid": original["uid"], "created_at": emu.iso(emu.now)}
        emu.callbacks.append(record)
        return JSONResponse(shown(record))
