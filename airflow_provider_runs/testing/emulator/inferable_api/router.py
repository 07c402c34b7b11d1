"""The Inferable API (``/inferable`` prefix), faithful to ``specs/inferable.md``.

Scenario control per run through a reserved key in the run's ``context`` (echoed back like any
context)::

    {"_emulator": {"outcome": "done|failed|stuck", "steps": 1, "tool_calls": 1,
                   "result": {...}, "invalid_result": false, "failure_reason": "text",
                   "approval": {"tool": "send_email", "input": {...}},
                   "after_denial": "done|failed"}}

Each status lasts ``inferable_step_seconds`` (emulator time). A run pauses briefly for each
ordinary tool call; with ``approval`` it pauses on a job that requests approval until
``POST /clusters/{c}/jobs/{id}/approval`` answers it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.inferable_api.results import example_for, invalid_for
from airflow_provider_runs.testing.emulator.inferable_api.store import Job, Run, ulid
from airflow_provider_runs.testing.emulator.state import EmulatorState, take_scenario

PREFIX = "/inferable"
RUN_ID = re.compile(r"^[0-9A-Za-z_.-]{4,128}$")
PROPERTY = re.compile(r"^[A-Za-z0-9_]+$")
STATUSES = ("pending", "running", "paused", "done", "failed")
MODELS = (
    "claude-3-7-sonnet-20250219",
    "claude-3-7-sonnet-latest",
    "claude-3-5-sonnet-20241022",
    "claude-3-5-sonnet-latest",
    "claude-3-5-sonnet-20240620",
    "claude-3-5-haiku-20241022",
    "claude-3-5-haiku-latest",
)
MAX_BODY = 1024 * 1024
DOCS = "https://docs.inferable.ai/pages/runs"


class InferableError(Exception):
    """An error answer with its exact body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(str(body))
        self.status, self.body = status, body


def shape_a(status: int, message: str, docs: str | None = None) -> InferableError:
    """``{"error": {"message", "docsLink"?}}``."""
    error: dict[str, Any] = {"message": message}
    if docs:
        error["docsLink"] = docs
    return InferableError(status, {"error": error})


def shape_b(issues: list[dict[str, Any]], where: str = "bodyErrors") -> InferableError:
    """The request-validation body (one ZodError per part)."""
    body: dict[str, Any] = {
        k: None for k in ("pathParameterErrors", "headerErrors", "queryParameterErrors", "bodyErrors")
    }
    body[where] = {"issues": issues, "name": "ZodError"}
    return InferableError(400, body)


def issue(path: list[Any], message: str, code: str = "invalid_type") -> dict[str, Any]:
    return {"code": code, "path": path, "message": message}


class InferableEmulator:
    """State and behaviour of the emulated Inferable control plane."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.runs: dict[tuple[str, str], Run] = {}
        self.scenarios: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def reset(self) -> None:
        self.runs.clear()
        self.scenarios.clear()
        self.deleted.clear()

    @property
    def now(self) -> float:
        return self.state.clock.now()

    @property
    def step(self) -> float:
        return float(getattr(self.state.config, "inferable_step_seconds", 0.2))

    # -- auth ------------------------------------------------------------------------------
    def authorize(self, request: Request, cluster: str | None, *, creating: bool = False) -> str:
        """Return the key's id, or raise the spec's 401s (shape A)."""
        header = request.headers.get("authorization")
        if not header:
            raise shape_a(401, "No authorization token found")
        parts = header.split()
        if len(parts) == 2:
            if parts[0].lower() != "bearer":
                raise shape_a(401, "Invalid authorization scheme")
            token = parts[1]
        elif len(parts) == 1:
            token = parts[0]
        else:
            raise shape_a(401, "Invalid authorization scheme")
        config = self.state.config
        clusters: dict[str, list[str]] = config.inferable_clusters
        machine = list(config.inferable_machine_keys)
        owner = next((c for c, keys in clusters.items() if token in keys), None)
        if owner is None and token in machine:
            owner = next(iter(clusters), None)
        if owner is None:
            raise shape_a(401, "Auth not extracted from request")
        if cluster is not None and cluster != owner:
            raise shape_a(401, "API Key does not have access to this cluster")
        if creating and token in machine and config.inferable_enforce_key_kinds:
            raise shape_a(401, "Machine API keys cannot create runs. Use a cluster consumer key.")
        return "cluster:" + ("0" * 32 + str(abs(hash(token))))[-32:]

    # -- runs ------------------------------------------------------------------------------
    def create(self, cluster: str, body: dict[str, Any], headers: Any, user_id: str) -> tuple[Run, bool]:
        """Validate and create (or return the existing run for a reused id)."""
        self.validate(body, headers)
        run_id = body.get("id") or body.get("runId")
        if run_id and (cluster, run_id) in self.runs:
            return self.runs[(cluster, run_id)], False
        context = body.get("context") if isinstance(body.get("context"), dict) else {}
        scenario = dict(context.get("_emulator") or {}) if isinstance(context.get("_emulator"), dict) else {}
        if not scenario:
            scenario = self._default_scenario()
        run = Run(
            id=run_id or ulid(),
            cluster=cluster,
            created_at=self.now,
            body=body,
            scenario=scenario,
            step=self.step,
            user_id=user_id,
        )
        schema = body.get("resultSchema")
        if "result" in scenario:
            run.result = scenario["result"]
        elif scenario.get("invalid_result"):
            run.result = invalid_for(schema) if schema else "not an object"
        else:
            run.result = example_for(schema) if schema else {"answer": "The agent finished the task."}
        approval = scenario.get("approval")
        if approval:
            run.approval_job = Job(
                id=ulid(),
                run_id=run.id,
                target_fn=str(approval.get("tool", "tool")),
                args=approval.get("input", {}),
                created_at=run.approval_at() or self.now,
                approval_requested=True,
            )
        for i in range(run.tool_calls):
            created = run.created_at + run.step * (2 + 2 * i)
            tools = body.get("tools") or ["tool"]
            run.jobs.append(
                Job(
                    id=ulid(),
                    run_id=run.id,
                    target_fn=tools[i % len(tools)],
                    args={},
                    created_at=created,
                    done_at=created + run.step,
                )
            )
        if run.approval_job is not None:
            run.jobs.append(run.approval_job)
        run.messages.append(
            {
                "id": ulid(),
                "type": "human",
                "data": {"message": run.prompt},
                "createdAt": self.state.clock.iso(run.created_at),
            }
        )
        self.runs[(cluster, run.id)] = run
        self.state.count("inferable", "runs_created")
        return run, True

    def _default_scenario(self) -> dict[str, Any]:
        return take_scenario(self.scenarios)

    def validate(self, body: Any, headers: Any) -> None:
        """The create-run checks of spec §2.1, with their body shapes."""
        if not isinstance(body, dict):
            raise shape_b([issue([], "Expected object, received " + type(body).__name__)])
        problems = []
        for key in ("id", "runId"):
            value = body.get(key)
            if value is not None and (not isinstance(value, str) or not RUN_ID.match(value)):
                problems.append(issue([key], "Invalid", "invalid_string"))
        for key in ("initialPrompt", "systemPrompt", "name"):
            if body.get(key) is not None and not isinstance(body[key], str):
                problems.append(issue([key], "Expected string, received " + type(body[key]).__name__))
        for key in ("input", "context"):
            if body.get(key) is not None and not isinstance(body[key], dict):
                problems.append(issue([key], "Expected object"))
        for key in ("reasoningTraces", "interactive", "enableResultGrounding"):
            if body.get(key) is not None and not isinstance(body[key], bool):
                problems.append(issue([key], "Expected boolean"))
        tools = body.get("tools")
        if tools is not None and (not isinstance(tools, list) or not all(isinstance(t, str) for t in tools)):
            problems.append(issue(["tools"], "Expected array of strings"))
        osc = body.get("onStatusChange")
        if osc is not None:
            problems.extend(self._check_on_status_change(osc))
        if problems:
            raise shape_b(problems)
        if tools is not None and not tools:
            raise InferableError(400, {"message": "tools cannot be an empty array"})
        if body.get("attachedFunctions") == []:
            raise InferableError(400, {"message": "attachedFunctions cannot be an empty array"})
        if "resultSchema" in body and body["resultSchema"] is not None:
            self._check_schema(body["resultSchema"])
        key, model, url = (headers.get(h) for h in ("x-provider-key", "x-provider-model", "x-provider-url"))
        if key and model and model not in MODELS:
            raise shape_b(
                [issue(["x-provider-model"], "Invalid enum value", "invalid_enum_value")], "headerErrors"
            )
        if url and url != "https://api.anthropic.com":
            raise shape_b(
                [issue(["x-provider-url"], "Invalid literal value", "invalid_literal")], "headerErrors"
            )

    def _check_on_status_change(self, osc: Any) -> list[dict[str, Any]]:
        if not isinstance(osc, dict):
            return [issue(["onStatusChange"], "Expected object")]
        kind = osc.get("type")
        statuses = osc.get("statuses")
        if kind is None:
            if "webhook" not in osc and "function" not in osc:
                return [issue(["onStatusChange"], "Invalid input", "invalid_union")]
            return []
        if kind not in ("webhook", "tool", "workflow", "function"):
            return [issue(["onStatusChange", "type"], "Invalid input", "invalid_union")]
        if not isinstance(statuses, list) or any(s not in STATUSES for s in statuses):
            return [issue(["onStatusChange", "statuses"], "Required", "invalid_type")]
        if kind == "webhook" and not re.match(r"^https?://.+$", str(osc.get("webhook") or "")):
            return [issue(["onStatusChange", "webhook"], "Invalid", "invalid_string")]
        return []

    @staticmethod
    def _check_schema(schema: Any) -> None:
        if not isinstance(schema, dict):
            raise InferableError(400, {"message": "resultSchema must be an object"})
        errors = []
        if "type" in schema and schema["type"] != "object":
            errors.append({"path": "type", "error": "must be 'object'"})
        if not isinstance(schema.get("properties"), dict):
            errors.append({"path": "properties", "error": "is required"})

        def names(node: Any, path: str) -> None:
            if isinstance(node, dict):
                props = node.get("properties")
                if isinstance(props, dict):
                    for name in props:
                        if not PROPERTY.match(str(name)):
                            errors.append(
                                {"path": f"{path}.properties.{name}", "error": "invalid property name"}
                            )
                for key, value in node.items():
                    names(value, f"{path}.{key}")
            elif isinstance(node, list):
                for i, item in enumerate(node):
                    names(item, f"{path}[{i}]")

        names(schema, "")
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            errors.append({"path": "/".join(str(p) for p in exc.path), "error": exc.message})
        if errors:
            raise InferableError(
                400, {"message": "'resultSchema' is not a valid JSON Schema", "errors": errors}
            )

    def find(self, cluster: str, run_id: str) -> Run | None:
        return self.runs.get((cluster, run_id))

    def run_dto(self, run: Run, *, detail: bool = False) -> dict[str, Any]:
        now = self.now
        status, _ = run.status_at(now)
        dto: dict[str, Any] = {
            "id": run.id,
            "userId": run.user_id,
            "type": "multi-step",
            "status": status,
            "failureReason": run.failure_reason(now),
            "test": False,
            "feedbackComment": run.feedback.get("comment"),
            "feedbackScore": run.feedback.get("score"),
            "context": run.body.get("context"),
            "authContext": {"userId": run.user_id},
            "result": run.result if status in ("done", "failed") and status == "done" else None,
            "tools": run.body.get("tools") or [],
        }
        if detail:
            dto.update(
                {
                    "name": run.body.get("name", ""),
                    "systemPrompt": run.body.get("systemPrompt"),
                    "interactive": run.body.get("interactive", True),
                    "workflowExecutionId": None,
                    "workflowVersion": None,
                    "workflowName": None,
                    "resultSchema": run.body.get("resultSchema"),
                    "onStatusChange": run.body.get("onStatusChange"),
                    "reasoningTraces": run.body.get("reasoningTraces", True),
                    "enableResultGrounding": run.body.get("enableResultGrounding", False),
                }
            )
        return dto

    def job_dto(self, cluster: str, job: Job) -> dict[str, Any]:
        status, result_type = job.status(self.now)
        return {
            "id": job.id,
            "clusterId": cluster,
            "status": status,
            "targetFn": job.target_fn,
            "executingMachineId": None,
            "targetArgs": json.dumps({"value": job.args}),
            "result": json.dumps({"value": "ok"}) if status == "success" else None,
            "resultType": result_type,
            "createdAt": self.state.clock.iso(job.created_at),
            "runId": job.run_id,
            "runContext": None,
            "authContext": None,
            "approvalRequested": job.approval_requested,
            "approved": job.approved,
        }

    def visible_jobs(self, run: Run) -> list[Job]:
        now = self.now
        return [j for j in run.jobs if j.created_at <= now]

    def events(self, cluster: str) -> list[dict[str, Any]]:
        """Every event of the cluster, newest first."""
        clock, now, out = self.state.clock, self.now, []
        for (c, _), run in self.runs.items():
            if c != cluster:
                continue
            for job in self.visible_jobs(run):
                base = {"machineId": None, "jobId": job.id, "targetFn": job.target_fn, "runId": run.id}
                if job.approval_requested:
                    out.append(
                        {**base, "id": job.id + "-r", "type": "approvalRequested", "at": job.created_at}
                    )
                    if job.decided_at is not None and job.decided_at <= now:
                        kind = "approvalGranted" if job.approved else "approvalDenied"
                        out.append({**base, "id": job.id + "-d", "type": kind, "at": job.decided_at})
                if job.done_at is not None and job.done_at <= now:
                    out.append(
                        {
                            **base,
                            "id": job.id + "-x",
                            "type": "jobResulted",
                            "at": job.done_at,
                            "resultType": "resolution",
                            "status": "success",
                        }
                    )
        out.sort(key=lambda e: e["at"], reverse=True)
        for event in out:
            event["createdAt"] = clock.iso(event.pop("at"))
        return out[:100]

    def due_webhooks(self) -> list[tuple[str, Any, str]]:
        """``(url, body, ref)`` for each listed status a run reached since the last look."""
        now, due = self.now, []
        for run in self.runs.values():
            osc = run.body.get("onStatusChange")
            if not isinstance(osc, dict) or not osc.get("webhook"):
                continue
            statuses = osc.get("statuses") or (["done", "failed"] if "type" not in osc else [])
            # every transition since the last look, not just the status now: a short pause
            # between two looks of the delivery loop still gets its notification
            for since, status in run.timeline():
                key = f"{status}@{since}"
                if since > now or key in run.notified:
                    continue
                if status in ("done", "failed", "paused") and status in statuses:
                    run.notified.add(key)
                    result = run.result if status == "done" else None
                    due.append(
                        (osc["webhook"], {"runId": run.id, "status": status, "result": result}, run.id)
                    )
        return due


def build_router(state: EmulatorState) -> tuple[APIRouter, InferableEmulator]:
    """The Inferable router and its emulator object."""
    emu = InferableEmulator(state)
    router = APIRouter(prefix=PREFIX)

    def answer(func):
        async def endpoint(request: Request) -> Response:
            try:
                return await func(request)
            except InferableError as err:
                return JSONResponse(err.body, status_code=err.status)

        endpoint.__name__ = func.__name__
        return endpoint

    async def json_body(request: Request) -> Any:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise shape_a(413, "Request body is too large")
        if not raw.strip():
            if request.headers.get("content-type", "").startswith("application/json"):
                raise shape_a(400, "Body cannot be empty when content-type is set to 'application/json'")
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise shape_a(400, "Unexpected token in JSON body") from None

    def int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        try:
            value = default if raw is None else int(raw)
        except ValueError:
            raise shape_b([issue([name], "Expected number, received nan")], "queryParameterErrors") from None
        if not low <= value <= high:
            raise shape_b(
                [issue([name], f"Number must be between {low} and {high}", "too_big")], "queryParameterErrors"
            )
        return value

    @answer
    async def create_run(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        user = emu.authorize(request, cluster, creating=True)
        body = await json_body(request)
        run, _ = emu.create(cluster, body, request.headers, user)
        status, _ = run.status_at(emu.now)
        return JSONResponse(
            {"id": run.id, "status": status, "result": run.result if status == "done" else None},
            status_code=201,
        )

    @answer
    async def get_run(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        emu.authorize(request, cluster)
        run = emu.find(cluster, request.path_params["run"])
        if run is None:
            return Response(status_code=404)
        return JSONResponse(emu.run_dto(run))

    @answer
    async def list_runs(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        emu.authorize(request, cluster)
        limit = int_query(request, "limit", 50, 10, 50)
        user = request.query_params.get("userId")
        test = request.query_params.get("test") == "true"
        runs = [r for (c, _), r in emu.runs.items() if c == cluster and (not user or r.user_id == user)]
        runs = [] if test else runs
        runs.sort(key=lambda r: r.created_at, reverse=True)
        now = emu.now
        items = [
            {
                "id": r.id,
                "name": r.body.get("name", ""),
                "userId": r.user_id,
                "createdAt": state.clock.iso(r.created_at),
                "type": "conversation",
                "status": r.status_at(now)[0],
                "test": False,
                "feedbackScore": r.feedback.get("score"),
                "workflowExecutionId": None,
                "workflowVersion": None,
                "workflowName": None,
            }
            for r in runs[:limit]
        ]
        return JSONResponse(items)

    @answer
    async def messages(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        user = emu.authorize(request, cluster)
        run = emu.find(cluster, request.path_params["run"])
        if request.method == "POST":
            body = await json_body(request)
            if run is None:
                raise shape_a(404, "Run not found")
            if not isinstance(body, dict) or not isinstance(body.get("message"), str):
                raise shape_b([issue(["message"], "Required")])
            if body.get("id") is not None and not re.match(r"^[0-9A-Za-z]{26}$", str(body["id"])):
                raise shape_b([issue(["id"], "Invalid", "invalid_string")])
            if not run.body.get("interactive", True):
                raise shape_a(400, "Run is not interactive and cannot accept new messages.")
            status, _ = run.status_at(emu.now)
            if status == "running":
                raise shape_a(409, "Run is not ready for new messages: running", DOCS)
            run.messages.append(
                {
                    "id": body.get("id") or ulid(),
                    "type": "human",
                    "data": {"message": body["message"]},
                    "createdAt": state.clock.iso(),
                }
            )
            if status in ("done", "failed"):
                run.reopen_at.append(emu.now)
            state.count("inferable", "messages_added")
            del user
            return Response(status_code=201)
        if run is None:
            return JSONResponse([])
        limit = int_query(request, "limit", 50, 10, 50)
        status, since = run.status_at(emu.now)
        items = list(run.messages)
        if status in ("done", "failed"):
            items.append(
                {
                    "id": f"{run.id}-final",
                    "type": "agent",
                    "createdAt": state.clock.iso(since),
                    "data": {
                        "done": status == "done",
                        "result": run.result,
                        "message": "Here is what I found.",
                    },
                }
            )
        items.reverse()
        after = request.query_params.get("after", "0")
        if after != "0":
            ids = [m["id"] for m in items]
            items = items[: ids.index(after)] if after in ids else items
        return JSONResponse(items[:limit])

    @answer
    async def timeline(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        emu.authorize(request, cluster)
        run = emu.find(cluster, request.path_params["run"])
        if run is None:
            return JSONResponse({"messages": [], "activity": [], "jobs": [], "run": {}})
        jobs = [emu.job_dto(cluster, j) for j in emu.visible_jobs(run)]
        jobs = [
            {
                k: j[k]
                for k in (
                    "id",
                    "status",
                    "targetFn",
                    "resultType",
                    "createdAt",
                    "approved",
                    "approvalRequested",
                )
            }
            for j in jobs
        ]
        activity = [e for e in emu.events(cluster) if e["runId"] == run.id]
        return JSONResponse(
            {"messages": [], "activity": activity, "jobs": jobs, "run": emu.run_dto(run, detail=True)}
        )

    @answer
    async def delete_run(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        emu.authorize(request, cluster)
        if emu.runs.pop((cluster, request.path_params["run"]), None) is not None:
            state.count("inferable", "deletes")
        return Response(status_code=204)

    @answer
    async def feedback(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        emu.authorize(request, cluster)
        body = await json_body(request)
        if not isinstance(body, dict) or "comment" not in body or "score" not in body:
            raise shape_b([issue(["comment" if "comment" not in body else "score"], "Required")])
        run = emu.find(cluster, request.path_params["run"])
        if run is not None:
            run.feedback = {"comment": body["comment"], "score": body["score"]}
        return Response(status_code=204)

    def find_job(cluster: str, job_id: str) -> Job:
        for (c, _), run in emu.runs.items():
            if c == cluster:
                for job in emu.visible_jobs(run):
                    if job.id == job_id:
                        return job
        raise InferableError(404, {"message": "Job not found"})

    @answer
    async def get_job(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        emu.authorize(request, cluster)
        return JSONResponse(emu.job_dto(cluster, find_job(cluster, request.path_params["job"])))

    @answer
    async def approve(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        emu.authorize(request, cluster)
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("approved"), bool):
            raise shape_b([issue(["approved"], "Required")])
        job = find_job(cluster, request.path_params["job"])
        if job.approval_requested and job.approved is None:
            job.approved = body["approved"]
            job.decided_at = emu.now
            if job.approved:
                job.done_at = emu.now + emu.step
            state.count("inferable", "approvals")
        return Response(status_code=204)

    @answer
    async def cancel_job(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        emu.authorize(request, cluster)
        job = find_job(cluster, request.path_params["job"])
        if job.cancelled_at is None:
            job.cancelled_at = emu.now
        return Response(status_code=204)

    @answer
    async def events(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        emu.authorize(request, cluster)
        q = request.query_params
        items = emu.events(cluster)
        for key, field in (("runId", "runId"), ("type", "type"), ("jobId", "jobId")):
            if q.get(key):
                items = [e for e in items if e.get(field) == q[key]]
        return JSONResponse(items)

    async def contract(request: Request) -> Response:
        return JSONResponse({"contract": "// emulated contract of the Inferable control plane"})

    async def oas(request: Request) -> Response:
        paths = sorted({r.path[len(PREFIX) :] for r in router.routes if hasattr(r, "path")})
        return JSONResponse(
            {
                "openapi": "3.1.0",
                "info": {"title": "Inferable (emulator)", "version": "1"},
                "paths": {p: {} for p in paths},
            }
        )

    runs = "/clusters/{cluster}/runs"
    router.add_api_route(runs, create_run, methods=["POST"])
    router.add_api_route(runs, list_runs, methods=["GET"])
    router.add_api_route(runs + "/{run}", get_run, methods=["GET"])
    router.add_api_route(runs + "/{run}", delete_run, methods=["DELETE"])
    router.add_api_route(runs + "/{run}/messages", messages, methods=["GET", "POST"])
    router.add_api_route(runs + "/{run}/timeline", timeline, methods=["GET"])
    router.add_api_route(runs + "/{run}/feedback", feedback, methods=["POST"])
    router.add_api_route("/clusters/{cluster}/jobs/{job}", get_job, methods=["GET"])
    router.add_api_route("/clusters/{cluster}/jobs/{job}/approval", approve, methods=["POST"])
    router.add_api_route("/clusters/{cluster}/jobs/{job}/cancel", cancel_job, methods=["POST"])
    router.add_api_route("/clusters/{cluster}/events", events, methods=["GET"])
    router.add_api_route("/contract", contract, methods=["GET"])
    router.add_api_route("/public/oas.json", oas, methods=["GET"])
    return router, emu
