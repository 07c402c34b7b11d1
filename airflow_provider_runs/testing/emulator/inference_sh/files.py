"""inference.sh file routes: uploads, downloads and a task's files (``specs/inference_sh.md`` §5)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from airflow_provider_runs.testing.emulator.inference_sh.emulator import InferenceShEmulator
from airflow_provider_runs.testing.emulator.inference_sh.errors import ApiError
from airflow_provider_runs.testing.emulator.inference_sh.store import new_id
from airflow_provider_runs.testing.emulator.inference_sh.tasks import json_body
from airflow_provider_runs.testing.emulator.routing import Endpoints


def file_dto(record: dict[str, Any]) -> dict[str, Any]:
    """The file object of a stored file."""
    return {k: record[k] for k in ("id", "uri", "filename", "content_type", "size")}


def add_file_routes(api: Endpoints, emu: InferenceShEmulator) -> None:
    """Register the file routes."""

    @api.route("/tasks/{task_id}/files", "GET", "DELETE")
    async def task_files(request: Request) -> Response:
        task = emu.get_task(request.path_params["task_id"])
        if request.method == "DELETE":
            for file_id in [f for f, v in emu.files.items() if v["task_id"] == task.id]:
                emu.files.pop(file_id)
            return Response(status_code=204)
        return emu.respond(request, [file_dto(f) for f in emu.files.values() if f["task_id"] == task.id])

    @api.route("/files", "POST", kind="upload")
    async def upload(request: Request) -> Response:
        body = await json_body(request)
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list) or not files:
            raise ApiError(400, "invalid_request", "files must be a non-empty array")
        out = []
        base = str(request.base_url).rstrip("/") + emu.service.api_root
        for spec in files:
            if not isinstance(spec, dict) or not spec.get("filename"):
                raise ApiError(400, "invalid_request", "each file needs a filename")
            file_id = new_id("file")
            record = {
                "id": file_id,
                "uri": f"{base}/files/{file_id}/{spec['filename']}",
                "upload_url": f"{base}/_uploads/{file_id}",
                "filename": spec["filename"],
                "content_type": spec.get("content_type") or "application/octet-stream",
                "size": spec.get("size") or 0,
                "content": b"",
                "task_id": None,
                "uploaded": False,
            }
            emu.files[file_id] = record
            out.append(file_dto(record) | {"upload_url": record["upload_url"]})
        return emu.respond(request, out)

    @api.route("/_uploads/{file_id}", "PUT", guarded=False)
    async def put_upload(request: Request) -> Response:
        record = emu.files.get(request.path_params["file_id"])
        if record is None:
            return Response(status_code=404)
        record["content"] = await request.body()
        record["size"] = len(record["content"])
        record["uploaded"] = True
        return Response(status_code=200)

    @api.route("/files/{file_id}/{filename}", "GET", guarded=False)
    async def get_file(request: Request) -> Response:
        record = emu.files.get(request.path_params["file_id"])
        if record is None or not record["uploaded"]:
            return Response(status_code=404)
        return Response(record["content"], media_type=record["content_type"])
