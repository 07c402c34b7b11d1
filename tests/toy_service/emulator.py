"""The toy jobs API in the emulator: ``POST /jobs`` (idempotent by ``ref``), ``GET /jobs/{id}``,
``POST /jobs/{id}/halt``; ``Authorization: Token <key>``. A job waits 0.2 s, works for its
payload's ``seconds`` (default 0.5), then finishes, or crashes when its payload says ``fail``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.ratelimit import Verdict
from airflow_provider_runs.testing.emulator.routing import Endpoints, ServiceError, read_json
from airflow_provider_runs.testing.emulator.service import EmulatedService, ServiceEmulator
from airflow_provider_runs.testing.emulator.state import EmulatorState
from toy_service.descriptor import TOY

QUEUED_FOR = 0.2


@dataclass
class ToySettings:
    """The toy's settings: the tokens it accepts."""

    toy_tokens: list[str] = field(default_factory=lambda: ["toy-token"])


class ToyJobs(ServiceEmulator):
    """The jobs, keyed by id, and their refs."""

    def __init__(self, state: EmulatorState, service: EmulatedService) -> None:
        super().__init__(state, service)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.by_ref: dict[str, str] = {}

    def reset(self) -> None:
        """Forget every job."""
        super().reset()
        self.jobs.clear()
        self.by_ref.clear()

    def created_tags(self) -> list[str]:
        """Each job's ref."""
        return [job["ref"] for job in self.jobs.values()]

    def view(self, job: dict[str, Any]) -> dict[str, Any]:
        """The job as the API shows it now."""
        age = self.now - job["created"]
        phase = job["halted"] or (
            "waiting"
            if age < QUEUED_FOR
            else "busy"
            if age < QUEUED_FOR + float(job["payload"].get("seconds", 0.5))
            else "crashed"
            if job["payload"].get("fail")
            else "finished"
        )
        error = "the payload asked to fail" if phase == "crashed" else None
        return {"id": job["id"], "phase": phase, "queue": job["queue"], "error": error, "ref": job["ref"]}


class ToyService(EmulatedService):
    """The toy jobs service."""

    settings = ToySettings
    default_key = "toy-token"

    def build_router(self, state: EmulatorState) -> tuple[APIRouter, ServiceEmulator]:
        """The jobs routes."""
        emu = ToyJobs(state, self)
        router = APIRouter(prefix=self.api_root)

        def guard(request: Request, bucket: str | None) -> Verdict | None:
            token = request.headers.get("authorization", "").removeprefix("Token ")
            if token not in emu.settings.toy_tokens:
                raise ServiceError(401, "bad token")
            return None

        api = Endpoints(router, guard)

        def job_of(request: Request) -> dict[str, Any]:
            job = emu.jobs.get(request.path_params["job_id"])
            if job is None:
                raise ServiceError(404, "no such job")
            return job

        @api.route("/jobs", "POST")
        async def create(request: Request) -> Response:
            body = await read_json(request, ServiceError(400, "not JSON"))
            ref = body.get("ref")
            if not isinstance(ref, str) or not isinstance(body.get("payload"), dict):
                raise ServiceError(422, "ref (a string) and payload (an object) are required")
            if ref in emu.by_ref:
                return JSONResponse({"job": emu.view(emu.jobs[emu.by_ref[ref]])})
            job_id = f"job{len(emu.jobs) + 1}"
            emu.jobs[job_id] = {
                "id": job_id,
                "ref": ref,
                "payload": body["payload"],
                "queue": body.get("queue") or "default",
                "created": emu.now,
                "halted": None,
            }
            emu.by_ref[ref] = job_id
            emu.count("runs_created")
            return JSONResponse({"job": emu.view(emu.jobs[job_id])}, status_code=201)

        @api.route("/jobs/{job_id}", "GET")
        async def read(request: Request) -> Response:
            return JSONResponse({"job": emu.view(job_of(request))})

        @api.route("/jobs/{job_id}/halt", "POST")
        async def halt(request: Request) -> Response:
            job = job_of(request)
            if emu.view(job)["phase"] in ("waiting", "busy"):
                job["halted"] = "halted"
            return JSONResponse({"job": emu.view(job)})

        return router, emu

    def api_keys(self, config: Any) -> list[str]:
        """The accepted tokens."""
        return list(config.settings_of(self).toy_tokens)

    def connection_extra(self) -> dict[str, Any]:
        """Jobs of the emulator's connection go to the ``emulated`` queue."""
        return {"queue": "emulated"}


SERVICE = ToyService(TOY)
