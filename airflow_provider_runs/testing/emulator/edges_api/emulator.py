"""The emulated Edges service: runs, launches and callbacks (``specs/edges.md``).

Scenario control per run through a reserved key in ``parameters``::

    {"_emulator": {"final_status": "<one of the ten>", "fail_inputs": [1, 3], "fail_share": 0.1,
                   "block_inputs": [...], "block_run": true, "stop_run": true, "block_again": false,
                   "postponed_seconds": 5, "duration": 2.0, "stuck": true, "error_label": "NO_RESULT"}}

Live mode: ``input.custom_data._emulator = {"status": 424, "label": "NO_RESULT"}`` answers that
error. The spec's assumptions are in :mod:`.assumptions`.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.actions import ACTIONS, Action, check_inputs
from airflow_provider_runs.testing.emulator.edges_api.errors import (
    EdgesError,
    bad_input,
    bad_parameters,
    not_found,
)
from airflow_provider_runs.testing.emulator.edges_api.scheduler import USER, WORKSPACE, Scheduler
from airflow_provider_runs.testing.emulator.edges_api.settings import EdgesSettings
from airflow_provider_runs.testing.emulator.edges_api.store import TERMINAL, Run, Schedule, new_uid
from airflow_provider_runs.testing.emulator.service import EmulatedService, ServiceEmulator, Webhook
from airflow_provider_runs.testing.emulator.state import EmulatorState


class EdgesEmulator(ServiceEmulator):
    """State and behaviour of the emulated Edges service."""

    settings: EdgesSettings

    def __init__(self, state: EmulatorState, service: EmulatedService) -> None:
        super().__init__(state, service)
        self.runs: dict[str, Run] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.scheduler = Scheduler(self)
        self._next_id = 1

    def reset(self) -> None:
        """Forget every run, schedule, callback and scenario."""
        super().reset()
        self.runs.clear()
        self.scheduler.schedules.clear()
        self.callbacks.clear()

    def next_id(self) -> int:
        """The numeric id of the next run."""
        self._next_id += 1
        return self._next_id - 1

    def iso(self, t: float | None) -> str | None:
        """An emulator time as RFC 3339 (``None`` stays ``None``)."""
        return None if t is None else self.state.clock.iso(t)

    def tick(self) -> None:
        """Fire every schedule whose time came (lazily, on requests)."""
        self.scheduler.tick()

    def created_tags(self) -> list[str]:
        """Each run's scenario ``tag``."""
        return [str(r.scenario.get("tag")) for r in self.runs.values()]

    def new_run(
        self,
        action: Action,
        mode: str,
        body: dict[str, Any],
        inputs: list[Any],
        parameters: dict[str, Any],
        **fields: Any,
    ) -> Run:
        """A new run of ``action``, numbered next (not yet recorded); ``fields``: the other
        :class:`Run` fields (``created_at`` defaults to now, ``failed`` to none)."""
        fields.setdefault("failed", {})
        fields.setdefault("created_at", self.now)
        return Run(
            id=self.next_id(),
            uid=new_uid(),
            action=action,
            mode=mode,
            name=body.get("name"),
            inputs=inputs,
            parameters=parameters,
            **fields,
        )

    def live_run(self, action: Action, item: dict[str, Any], body: dict[str, Any]) -> Run:
        """Record a live run of one input (it succeeded at once)."""
        parameters = body.get("parameters") or {}
        run = self.new_run(
            action, "LIVE", body, [item], parameters, callback=None, scenario={}, input_seconds=0
        )
        run.segments = [(self.now, "SUCCEEDED", None)]
        run.ok_indices = [0]
        self.runs[run.uid] = run
        self.count("runs_created")
        return run

    # -- launching ------------------------------------------------------------------------
    def action(self, slug: str) -> Action:
        """The action called ``slug`` (404 otherwise)."""
        action = ACTIONS.get(slug)
        if action is None:
            raise not_found(f"Action {slug} not found")
        return action

    def check_identity(self, body: dict[str, Any], action: Action) -> str | None:
        """The launch's identity mode, checked against the action's needs."""
        mode = body.get("identity_mode")
        if mode is not None and mode not in ("direct", "auto", "managed"):
            raise bad_parameters("identity_mode must be direct, auto or managed")
        ids = body.get("identity_ids")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
            raise bad_parameters("identity_ids must be an array of uuids")
        if mode == "direct" and not ids:
            raise bad_parameters("identity_ids is required with identity_mode direct")
        if action.needs_direct_identity and mode != "direct":
            raise EdgesError(424, "NO_VALID_ACCOUNT_CONFIGURED", "This action needs a direct identity")
        return mode

    def check_callback(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The launch's callback, checked."""
        cb = body.get("callback")
        if cb is None:  # §8 #2: documented as required; not enforced with edges_strict_callback=False
            if self.settings.edges_strict_callback:
                raise bad_parameters("body must have required property 'callback'")
            return None
        if not isinstance(cb, dict) or not isinstance(cb.get("url"), str) or not cb["url"].startswith("http"):
            raise bad_parameters("callback.url must be a URL")
        if cb.get("on", "final") not in ("all", "final"):
            raise bad_parameters("callback.on must be all or final")
        return cb

    def launch(self, slug: str, body: Any, *, schedule: Schedule | None = None) -> Run:
        """Create an async run (or a schedule's execution)."""
        action = self.action(slug)
        if isinstance(body, dict) and "input" in body:
            raise bad_input("body must NOT have additional properties (input)")
        inputs = check_inputs(body, A.MAX_ASYNC_INPUTS)
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            raise bad_parameters("parameters must be an object")
        mode = self.check_identity(body, action)
        callback = self.check_callback(body) if schedule is None else schedule.callback
        scenario = dict(params.get("_emulator") or {}) or self.take_scenario()
        failed: dict[int, dict[str, Any]] = {}
        label = scenario.get("error_label", "GENERIC_ERROR")
        for i, item in enumerate(inputs):
            problem = action.check(item)
            if problem:
                failed[i] = {"label": "BAD_INPUT", "message": problem}
        for i in scenario.get("fail_inputs") or []:
            failed.setdefault(int(i), {"label": label, "message": f"{label} for input {i}"})
        for i in scenario.get("block_inputs") or []:
            failed.setdefault(
                int(i), {"label": "LIMIT_REACHED", "message": "identity limit", "_status": "BLOCKED"}
            )
        for key, status, lbl in (
            ("fail_share", "FAILED", label),
            ("block_share", "BLOCKED", "LIMIT_REACHED"),
        ):
            share = float(scenario.get(key) or 0)
            if share:
                for i in range(len(inputs)):
                    if i not in failed and self.state.random.random() < share:
                        failed[i] = {"label": lbl, "message": f"{lbl} for input {i}", "_status": status}
        now = self.now
        run = self.new_run(
            action,
            "ASYNC",
            body,
            inputs,
            {k: v for k, v in params.items() if k != "_emulator"},
            callback=callback,
            created_at=now,
            scenario=scenario,
            input_seconds=self.settings.edges_input_seconds,
            failed=failed,
            identity_mode=mode,
        )
        if schedule is not None:
            run.scheduled_run_uid, run.scheduled_run_name = schedule.uid, schedule.name
        run.plan(now, first=True)
        run.ok_indices = [i for i in range(len(inputs)) if i not in failed]
        self.runs[run.uid] = run
        self.count("runs_created")
        self.count("inputs_received", len(inputs))
        return run

    def handle(self, run: Run) -> dict[str, Any]:
        """The launch answer of an async run."""
        status, _, postponed = run.status_at(self.now)
        lower = {
            "CREATED": "pending",
            "QUEUED": "pending",
            "SCHEDULED": "pending",
            "RUNNING": "running",
            "SUCCEEDED": "completed",
            "PARTIAL_SUCCEEDED": "completed",
        }.get(status, "failed")
        return {
            "run_id": run.id,
            "run_uid": run.uid,
            "workspace_uid": WORKSPACE,
            "user_uid": USER,
            "action_name": run.action.slug,
            "status": lower,
            "postponed_until": self.iso(postponed),
            "created_at": self.iso(run.created_at),
            "updated_at": self.iso(run.created_at),
        }

    def last_error(self, run: Run, status: str, postponed: float | None) -> dict[str, Any] | None:
        """A run's ``last_error``."""
        if postponed is not None:
            until = self.iso(postponed)
            return {
                "label": "LIMIT_REACHED",
                "message": "Identity limit reached; the run is parked",
                "params": {"postponed_until": until},
            }
        if status == "BLOCKED":
            return {"label": "LIMIT_REACHED", "message": "Daily identity limit reached", "params": {}}
        if status == "STOPPED":
            return {"label": "ACTION_ABORTED", "message": "The run was stopped", "params": {}}
        if status == "INVALID":
            return {"label": "BAD_INPUT", "message": "The run configuration is invalid", "params": {}}
        if status == "FAILED":
            return {
                "label": run.scenario.get("error_label", "NO_RESULT"),
                "message": "All inputs failed",
                "params": {},
            }
        return None

    def run_dto(self, run: Run) -> dict[str, Any]:
        """The run object."""
        now = self.now
        status, since, postponed = run.status_at(now)
        end = run.end_time() if status in TERMINAL else None
        return {
            "id": run.id,
            "uid": run.uid,
            "name": run.name,
            "scheduled_run_uid": run.scheduled_run_uid,
            "scheduled_run_name": run.scheduled_run_name,
            "action_id": list(ACTIONS).index(run.action.slug) + 1,
            "action_name": run.action.slug,
            "retry_count": run.resumes,
            "user_uid": USER,
            "workspace_uid": WORKSPACE,
            "execution_mode": run.mode,
            "status": status,
            "last_error": self.last_error(run, status, postponed),
            "parameters": run.parameters,
            "callback": {"url": run.callback["url"]} if run.callback else None,
            "output_count": self.output_count(run) if status in TERMINAL else 0,
            "postponed_until": self.iso(postponed),
            "started_at": self.iso(run.created_at + 0.06),
            "finished_at": self.iso(end),
            "synced_at": self.iso(end),
            "created_at": self.iso(run.created_at),
            "updated_at": self.iso(since),
        }

    def status_dto(self, run: Run) -> dict[str, Any]:
        """The light status object."""
        status, since, postponed = run.status_at(self.now)
        end = run.end_time() if status in TERMINAL else None
        return {
            "id": run.id,
            "uid": run.uid,
            "status": status,
            "postponed_until": self.iso(postponed),
            "started_at": self.iso(run.created_at + 0.06),
            "finished_at": self.iso(end),
            "created_at": self.iso(run.created_at),
            "updated_at": self.iso(since),
        }

    def output_count(self, run: Run) -> int:
        """How many result rows the run has."""
        status, _, _ = run.status_at(self.now)
        if status in ("FAILED", "INVALID"):
            return 0
        return len(run.ok_indices) * (2 if run.action.lists else 1)

    def outputs(self, run: Run, start: int, limit: int) -> list[dict[str, Any]]:
        """Result rows ``start`` to ``start + limit``."""
        per = 2 if run.action.lists else 1
        total = self.output_count(run)
        rows = []
        for k in range(start, min(total, start + limit)):
            index = run.ok_indices[k // per]
            row = run.action.results(run.inputs[index], index)[k % per]
            rows.append({**row, "extracted_at": self.iso(run.end_time() or self.now)})
        return rows

    def get_run(self, uid: str) -> Run:
        """The run (404 otherwise), after firing the schedules due."""
        self.tick()
        run = self.runs.get(uid)
        if run is None:
            raise not_found(f"Run {uid} not found")
        return run

    # -- callbacks ------------------------------------------------------------------------
    def due_webhooks(self) -> list[Webhook]:
        """Final callbacks of runs that ended since the last look."""
        now, due = self.now, []
        for run in self.runs.values():
            if not run.callback or "final" in run.callbacks_done:
                continue
            end = run.end_time()
            if end is None or end > now:
                continue
            run.callbacks_done.add("final")
            status = run.status_at(now)[0]
            ref = new_uid()
            body: dict[str, Any] = {
                "callback_ref_uid": ref,
                "run": {"run_uid": run.uid, "batch_uid": new_uid(), "status": status},
                "input": None,
                "error": None,
                "results": self.outputs(run, 0, 20),
            }
            self.callbacks.append(
                {
                    "uid": ref,
                    "parent_uid": None,
                    "retry_count": 0,
                    "created_at": self.iso(now),
                    "status": "SUCCESS",
                    "callback_url": run.callback["url"],
                    "http_status": 200,
                    "http_response": None,
                    "batch_uid": body["run"]["batch_uid"],
                    "run_uid": run.uid,
                    "workspace_uid": WORKSPACE,
                    "error": None,
                    "body": body,
                }
            )
            due.append(Webhook(run.callback["url"], body, run.uid))
        return due
