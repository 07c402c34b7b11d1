"""Inferable run routes: create, list, read, delete, messages, timeline, feedback (spec §2).

A run's scenario may ask for transient failures (spec §3, transition 7: "retryable infrastructure
errors (DB, provider 429/5xx) re-run processing (3 attempts total), so `failed` may flip back to
`running`"); default off::

    {"_emulator": {"transient_failures": 1, "transient_failed_seconds": 2.0,
                   "transient_reason": "text"}}

The run then reports ``failed`` (with ``transient_reason`` as its ``failureReason``) for
``transient_failed_seconds`` (emulator time; default one step) right before it would have ended,
goes back to ``running`` (``failureReason`` reset to ``""``) for a step, and ends as scripted; at
most 2 flips (3 attempts in all). See :class:`FlippingRun`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.inferable_api.emulator import InferableEmulator
from airflow_provider_runs.testing.emulator.inferable_api.errors import issue, shape_a, shape_b
from airflow_provider_runs.testing.emulator.inferable_api.reading import int_query, json_body
from airflow_provider_runs.testing.emulator.inferable_api.store import Run, ulid
from airflow_provider_runs.testing.emulator.routing import Endpoints

RUNS = "/clusters/{cluster}/runs"
DOCS = "https://docs.inferable.ai/pages/runs"
TIMELINE_JOB_FIELDS = ("id", "status", "targetFn", "resultType", "createdAt", "approved", "approvalRequested")
MAX_TRANSIENT_FAILURES = 2
"""Processing runs at most 3 times (spec §3, transition 7): at most 2 transient ``failed``."""
TRANSIENT_REASON = "Transient error: the model provider answered 503; retrying"
"""The default ``failureReason`` of a transient ``failed``."""


class FlippingRun(Run):
    """A run whose processing fails transiently before it ends (scenario ``transient_failures``)."""

    @property
    def flips(self) -> int:
        """How many transient ``failed`` the run reports (0 to :data:`MAX_TRANSIENT_FAILURES`)."""
        return max(0, min(int(self.scenario.get("transient_failures") or 0), MAX_TRANSIENT_FAILURES))

    def transient_spans(self) -> list[tuple[float, float]]:
        """``[(from, to)]`` of each transient ``failed`` (emulator time)."""
        points = super().timeline()
        end = next((i for i, (_, status) in enumerate(points) if status in ("done", "failed")), None)
        if end is None:  # never ends (stuck, or waiting for an approval): nothing to retry yet
            return []
        lasts = float(self.scenario.get("transient_failed_seconds") or self.step)
        t, spans = points[end][0], []
        for _ in range(self.flips):
            spans.append((t, t + lasts))
            t += lasts + self.step
        return spans

    def timeline(self) -> list[tuple[float, str]]:
        """The scripted timeline with the transient ``failed`` spans before the end."""
        points = super().timeline()
        spans = self.transient_spans()
        if not spans:
            return points
        end = next(i for i, (_, status) in enumerate(points) if status in ("done", "failed"))
        flipped = [p for span in spans for p in ((span[0], "failed"), (span[1], "running"))]
        new_end = spans[-1][1] + self.step
        later = [p for p in points[end + 1 :] if p[0] >= new_end]  # re-opened after the end
        return [*points[:end], *flipped, (new_end, points[end][1]), *later]

    def failure_reason(self, now: float) -> str | None:
        """A transient ``failed`` has its own reason."""
        if any(start <= now < stop for start, stop in self.transient_spans()):
            return str(self.scenario.get("transient_reason") or TRANSIENT_REASON)
        return super().failure_reason(now)


def with_transient_failures(emu: InferableEmulator, run: Run) -> Run:
    """``run`` as a :class:`FlippingRun` (in the emulator's store too) when its scenario asks."""
    if not run.scenario.get("transient_failures") or isinstance(run, FlippingRun):
        return run
    flipping = FlippingRun(**{f.name: getattr(run, f.name) for f in dataclasses.fields(run)})
    emu.runs[(run.cluster, run.id)] = flipping
    return flipping


def add_run_routes(api: Endpoints, emu: InferableEmulator) -> None:
    """Register the run routes (each one authorized for the path's cluster first)."""
    clock = emu.state.clock

    def run_of(request: Request) -> Run | None:
        return emu.find(request.path_params["cluster"], request.path_params["run"])

    @api.route(RUNS, "POST", kind="create")
    async def create_run(request: Request) -> Response:
        body = await json_body(request)
        run, _ = emu.create(request.path_params["cluster"], body, request.headers, request.state.user)
        run = with_transient_failures(emu, run)
        status, _ = run.status_at(emu.now)
        answer = {"id": run.id, "status": status, "result": run.result if status == "done" else None}
        return JSONResponse(answer, status_code=201)

    @api.route(RUNS, "GET")
    async def list_runs(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        limit = int_query(request, "limit", 50, 10, 50)
        user = request.query_params.get("userId")
        test = request.query_params.get("test") == "true"
        kind = request.query_params.get("type", "all")
        if kind not in ("conversation", "workflow", "all"):
            raise shape_b(
                [
                    issue(
                        ["type"],
                        "Invalid enum value. Expected 'conversation' | 'workflow' | 'all'",
                        "invalid_enum_value",
                    )
                ],
                where="queryParameterErrors",
            )
        runs = [r for (c, _), r in emu.runs.items() if c == cluster and (not user or r.user_id == user)]
        # emulated runs are conversations (none is started by a workflow) and none is a test run
        runs = [] if test or kind == "workflow" else runs
        runs.sort(key=lambda r: r.created_at, reverse=True)
        now = emu.now
        items = [
            {
                "id": r.id,
                "name": r.body.get("name", ""),
                "userId": r.user_id,
                "createdAt": clock.iso(r.created_at),
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

    @api.route(RUNS + "/{run}", "GET")
    async def get_run(request: Request) -> Response:
        run = run_of(request)
        if run is None:
            return Response(status_code=404)
        return JSONResponse(emu.run_dto(run))

    @api.route(RUNS + "/{run}", "DELETE")
    async def delete_run(request: Request) -> Response:
        if emu.runs.pop((request.path_params["cluster"], request.path_params["run"]), None) is not None:
            emu.count("deletes")
        return Response(status_code=204)

    @api.route(RUNS + "/{run}/messages", "GET", "POST")
    async def messages(request: Request) -> Response:
        run = run_of(request)
        if request.method == "POST":
            return await _add_message(emu, run, await json_body(request))
        if run is None:
            return JSONResponse([])
        limit = int_query(request, "limit", 50, 10, 50)
        status, since = run.status_at(emu.now)
        items = list(run.messages)
        if status in ("done", "failed"):
            final = {"done": status == "done", "result": run.result, "message": "Here is what I found."}
            items.append(
                {"id": f"{run.id}-final", "type": "agent", "createdAt": clock.iso(since), "data": final}
            )
        items.reverse()
        after = request.query_params.get("after", "0")
        if after != "0":
            ids = [m["id"] for m in items]
            items = items[: ids.index(after)] if after in ids else items
        return JSONResponse(items[:limit])

    @api.route(RUNS + "/{run}/timeline", "GET")
    async def timeline(request: Request) -> Response:
        cluster = request.path_params["cluster"]
        run = run_of(request)
        if run is None:
            return JSONResponse({"messages": [], "activity": [], "jobs": [], "run": {}})
        jobs = [emu.job_dto(cluster, j) for j in emu.visible_jobs(run)]
        jobs = [{k: j[k] for k in TIMELINE_JOB_FIELDS} for j in jobs]
        activity = [e for e in emu.events(cluster) if e["runId"] == run.id]
        return JSONResponse(
            {"messages": [], "activity": activity, "jobs": jobs, "run": emu.run_dto(run, detail=True)}
        )

    @api.route(RUNS + "/{run}/feedback", "POST")
    async def feedback(request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict) or "comment" not in body or "score" not in body:
            raise shape_b([issue(["comment" if "comment" not in body else "score"], "Required")])
        run = run_of(request)
        if run is not None:
            run.feedback = {"comment": body["comment"], "score": body["score"]}
        return Response(status_code=204)


async def _add_message(emu: InferableEmulator, run: Run | None, body: Any) -> Response:
    """``POST .../messages``: a human message; a finished run runs again."""
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
    message = {"id": body.get("id") or ulid(), "type": "human", "data": {"message": body["message"]}}
    run.messages.append({**message, "createdAt": emu.state.clock.iso()})
    if status in ("done", "failed"):
        run.reopen_at.append(emu.now)
    emu.count("messages_added")
    return Response(status_code=201)
