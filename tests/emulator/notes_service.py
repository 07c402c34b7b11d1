"""A toy service emulated only in these tests ("notes"): it proves the generic emulator modules
serve a service they never name (``test_generic_service.py``)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.services import EmulatorParts, ServiceDescriptor
from airflow_provider_runs.testing.emulator.ratelimit import Verdict
from airflow_provider_runs.testing.emulator.routing import Endpoints, ServiceError, read_json
from airflow_provider_runs.testing.emulator.service import (
    EmulatedService,
    FaultAnswer,
    RateLimitPlan,
    ServiceEmulator,
    Webhook,
)
from airflow_provider_runs.testing.emulator.state import EmulatorState

NOTES = ServiceDescriptor(
    name="notes",
    display_name="Notes",
    conn_type="notes",
    hook="notes.hook:NotesHook",
    default_base_url="https://api.notes.invalid/v2",
    emulator=EmulatorParts(prefix="/notes-api", service="emulator.notes_service:SERVICE"),
)


@dataclass
class NotesSettings:
    """The toy's settings: its accepted tokens."""

    notes_tokens: list[str] = field(default_factory=lambda: ["note-token"])


class NotesEmulator(ServiceEmulator):
    """Notes, each delivered to its webhook once written."""

    def __init__(self, state: EmulatorState, service: EmulatedService) -> None:
        super().__init__(state, service)
        self.notes: dict[str, dict[str, Any]] = {}

    def reset(self) -> None:
        super().reset()
        self.notes.clear()

    def due_webhooks(self) -> list[Webhook]:
        due = [
            Webhook(n["webhook"], n, n["id"]) for n in self.notes.values() if n["webhook"] and not n["sent"]
        ]
        for note in self.notes.values():
            note["sent"] = True
        return due

    def created_tags(self) -> list[str]:
        return [n["text"] for n in self.notes.values()]


class NotesService(EmulatedService):
    """The toy notes API: ``Authorization: Token <t>``, ``POST /notes``, ``GET /notes/{id}``."""

    settings = NotesSettings
    rate_limits = RateLimitPlan({"standard": {"reads": 2}, "unlimited": {"reads": None}})
    default_key = "note-token"

    def build_router(self, state: EmulatorState) -> tuple[APIRouter, ServiceEmulator]:
        emu = NotesEmulator(state, self)
        router = APIRouter(prefix=self.api_root)

        def guard(request: Request, bucket: str | None) -> Verdict | None:
            token = request.headers.get("authorization", "").removeprefix("Token ")
            if token not in emu.settings.notes_tokens:
                raise ServiceError(401, "bad token")
            verdict = state.meter(emu.name, bucket, token) if bucket else None
            if verdict is not None and not verdict.allowed:
                raise ServiceError(429, "slow down")
            return verdict

        api = Endpoints(router, guard)

        @api.route("/notes", "POST")
        async def create(request: Request) -> Response:
            body = await read_json(request, ServiceError(400, "not JSON"))
            scenario = emu.take_scenario()
            note = {"id": f"n{len(emu.notes) + 1}", "text": body.get("text", ""), "sent": False}
            note |= {"webhook": body.get("webhook"), "scenario": scenario}
            emu.notes[note["id"]] = note
            emu.count("runs_created")
            return JSONResponse(note, status_code=201)

        @api.route("/notes/{note_id}", "GET", kind="reads")
        async def read(request: Request) -> Response:
            note = emu.notes.get(request.path_params["note_id"])
            if note is None:
                raise ServiceError(404, "no such note")
            return JSONResponse(note)

        return router, emu

    def api_keys(self, config: Any) -> list[str]:
        return list(config.settings_of(self).notes_tokens)

    def connection_extra(self) -> dict[str, Any]:
        return {"shelf": "emulated"}

    def limit_settings(self, config: Any) -> list[dict[str, Any]]:
        return [{"tier": "standard"}]

    def fault_body(self, status: int, message: str) -> FaultAnswer:
        return FaultAnswer(json.dumps({"oops": message}).encode(), "application/vnd.notes+json")

    def openapi_paths(self) -> dict[str, dict[str, Any]]:
        return {"/notes/{note_id}": {"get": {"summary": "Notes: read a note", "responses": {}}}}

    def add_cli_options(self, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--notes-token", action="append", dest="notes_tokens")


SERVICE = NotesService(NOTES)
