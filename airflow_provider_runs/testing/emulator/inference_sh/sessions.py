"""inference.sh session routes: list, read, keep alive, end (``specs/inference_sh.md`` §4)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from airflow_provider_runs.testing.emulator.inference_sh.emulator import InferenceShEmulator
from airflow_provider_runs.testing.emulator.inference_sh.errors import ApiError
from airflow_provider_runs.testing.emulator.inference_sh.store import Session
from airflow_provider_runs.testing.emulator.routing import Endpoints


def add_session_routes(api: Endpoints, emu: InferenceShEmulator) -> None:
    """Register the session routes."""

    def session_of(request: Request) -> Session:
        session = emu.sessions.get(request.path_params["session_id"])
        if session is None:
            raise ApiError(404, "SESSION_NOT_FOUND", "session not found")
        return session

    @api.route("/sessions", "GET")
    async def list_sessions(request: Request) -> Response:
        now = emu.now
        active = [emu.session_dto(s) for s in emu.sessions.values() if s.status(now) == "active"]
        return emu.respond(request, active)

    @api.route("/sessions/{session_id}", "GET")
    async def get_session(request: Request) -> Response:
        return emu.respond(request, emu.session_dto(session_of(request)))

    @api.route("/sessions/{session_id}", "DELETE")
    async def end_session(request: Request) -> Response:
        session = session_of(request)
        if session.ended_at is None:
            session.ended_at = emu.now
        return Response(status_code=204)

    @api.route("/sessions/{session_id}/keepalive", "POST")
    async def keepalive(request: Request) -> Response:
        session = session_of(request)
        status = session.status(emu.now)
        if status != "active":
            code = "SESSION_ENDED" if status == "ended" else "SESSION_EXPIRED"
            raise ApiError(410, code, f"session is {status}")
        session.last_activity = emu.now
        return emu.respond(request, emu.session_dto(session))
