"""The emulated Inferable control plane: runs, jobs and events (``specs/inferable.md``).

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
from typing import Any

from fastapi import Request

from airflow_provider_runs.testing.emulator.inferable_api.errors import InferableError, shape_a
from airflow_provider_runs.testing.emulator.inferable_api.results import example_for, invalid_for
from airflow_provider_runs.testing.emulator.inferable_api.settings import InferableSettings
from airflow_provider_runs.testing.emulator.inferable_api.store import Job, Run, ulid
from airflow_provider_runs.testing.emulator.inferable_api.validation import validate
from airflow_provider_runs.testing.emulator.service import EmulatedService, ServiceEmulator, Webhook
from airflow_provider_runs.testing.emulator.state import EmulatorState


class InferableEmulator(ServiceEmulator):
    """State and behaviour of the emulated Inferable control plane."""

    settings: InferableSettings

    def __init__(self, state: EmulatorState, service: EmulatedService) -> None:
        super().__init__(state, service)
        self.runs: dict[tuple[str, str], Run] = {}

    def reset(self) -> None:
        """Forget every run and scenario."""
        super().reset()
        self.runs.clear()

    @property
    def step(self) -> float:
        """Emulator seconds each agent step lasts."""
        return float(self.settings.inferable_step_seconds)

    def created_tags(self) -> list[str]:
        """Each run's scenario ``tag``."""
        return [str(r.scenario.get("tag")) for r in self.runs.values()]

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
        config = self.settings
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
        validate(body, headers)
        run_id = body.get("id") or body.get("runId")
        if run_id and (cluster, run_id) in self.runs:
            return self.runs[(cluster, run_id)], False
        context = body["context"] if isinstance(body.get("context"), dict) else {}
        scenario = dict(context["_emulator"]) if isinstance(context.get("_emulator"), dict) else {}
        if not scenario:
            scenario = self.take_scenario()
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
        self.count("runs_created")
        return run, True

    def find(self, cluster: str, run_id: str) -> Run | None:
        """The run, if the cluster has it."""
        return self.runs.get((cluster, run_id))

    def find_job(self, cluster: str, job_id: str) -> Job:
        """A job (visible so far) of one of the cluster's runs; 404 otherwise."""
        for (c, _), run in self.runs.items():
            if c == cluster:
                for job in self.visible_jobs(run):
                    if job.id == job_id:
                        return job
        raise InferableError(404, {"message": "Job not found"})

    def run_dto(self, run: Run, *, detail: bool = False) -> dict[str, Any]:
        """The run object (``detail``: the timeline's fuller one)."""
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
        """The job object."""
        """The job object."""
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
        """The run's jobs created so far."""
        """The run's jobs created so far."""
        now = self.now
        return [j for j in run.jobs if j.created_at <= now]

    def events(self, cluster: str) -> list[dict[str, Any]]:
        """Every event of the cluster, newest first."""
        clock, now = self.state.clock, self.now
        out: list[dict[str, Any]] = []
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

    def due_webhooks(self) -> list[Webhook]:
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
                        Webhook(osc["webhook"], {"runId": run.id, "status": status, "result": result}, run.id)
                    )
        return due
