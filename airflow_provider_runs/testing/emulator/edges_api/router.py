"""The Edges API (``/edges/v1`` prefix), faithful to ``specs/edges.md``.

Scenario control per run through a reserved key in ``parameters``::

    {"_emulator": {"final_status": "<one of the ten>", "fail_inputs": [1, 3], "fail_share": 0.1,
                   "block_inputs": [...], "block_run": true, "stop_run": true, "block_again": false,
                   "postponed_seconds": 5, "duration": 2.0, "stuck": true, "error_label": "NO_RESULT"}}

Live mode: ``input.custom_data._emulator = {"status": 424, "label": "NO_RESULT"}`` answers that
error. The spec's assumptions are in :mod:`.assumptions`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.actions import ACTIONS, Action
from airflow_provider_runs.testing.emulator.edges_api.store import TERMINAL, Run, Schedule, new_uid
from airflow_provider_runs.testing.emulator.ratelimit import Verdict
from airflow_provider_runs.testing.emulator.state import EmulatorState, take_scenario

PREFIX = "/edges/v1"
RUN_STATUSES = (
    "CREATED",
    "INVALID",
    "QUEUED",
    "SCHEDULED",
    "BLOCKED",
    "STOPPED",
    "RUNNING",
    "FAILED",
    "PARTIAL_SUCCEEDED",
    "SUCCEEDED",
)
WORKSPACE = "9b0f6a1e-0000-4000-8000-000000000001"
USER = "9b0f6a1e-0000-4000-8000-000000000002"


class EdgesError(Exception):
    """An error answer in the standard Edges body."""

    def __init__(
        self, status: int, label: str, message: str, scope: str = "input", params=None, headers=None
    ):
        super().__init__(message)
        self.status, self.label, self.message, self.scope = status, label, message, scope
        self.params, self.headers = params or {}, headers or {}

    def response(self) -> JSONResponse:
        body = {
            "error_label": self.label,
            "error_scope": self.scope,
            "error_ref": f"ERR-{abs(hash(self.message)) % 10**8}",
            "message": self.message,
            "status_code": self.status,
            "params": self.params,
        }
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class EdgesEmulator:
    """State and behaviour of the emulated Edges service."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.runs: dict[str, Run] = {}
        self.schedules: dict[str, Schedule] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.scenarios: list[dict[str, Any]] = []
        self._next_id = 1

    def reset(self) -> None:
        self.runs.clear()
        self.schedules.clear()
        self.callbacks.clear()
        self.scenarios.clear()

    @property
    def now(self) -> float:
        return self.state.clock.now()

    def iso(self, t: float | None) -> str | None:
        return None if t is None else self.state.clock.iso(t)

    def wall(self, t: float) -> datetime:
        return self.state.clock._start_wall + timedelta(seconds=t)

    def emu_time(self, when: datetime) -> float:
        return (when - self.state.clock._start_wall).total_seconds()

    # -- auth and limits ----------------------------------------------------------------
    def authorize(self, request: Request) -> str:
        """The request's API key; 401 without a valid one."""
        key = request.headers.get("x-api-key")
        if not key or key not in self.state.config.edges_api_keys:
            raise EdgesError(401, "UNAUTHORIZED", "Missing or invalid API key", "auth")
        return key

    def meter(self, request: Request, key: str) -> Verdict | None:
        """Count the request against its key's budget (spec §6.3): every ``/runs`` route shares
        one, live actions have their own; 429 ``STATUS_429`` past it, without ``Retry-After``."""
        sub = request.url.path[len(PREFIX) :]
        if sub == "/runs" or sub.startswith("/runs/"):
            bucket = "runs"
        elif sub.startswith("/actions/") and sub.endswith("/run/live"):
            bucket = "live"
        else:
            return None  # async/schedule launches, schedules, identities, workspaces
        verdict = self.state.limits.take("edges", bucket, key)
        if verdict is None:
            return None
        self.state.count("edges", "metered")
        if not verdict.allowed:
            self.state.count("edges", "rate_limited")
            self.state.count("edges", f"rate_limited_{bucket}")
            headers = {"X-RateLimit-Type": A.RATE_LIMIT_TYPES[bucket], "X-RateLimit-Remaining": "0"}
            if A.RETRY_AFTER_ON_RATE_LIMIT:
                headers["Retry-After"] = str(self.state.limits.retry_after(verdict))
            raise EdgesError(
                429,
                "STATUS_429",
                f"Rate limit reached: {verdict.limit} requests per minute ({A.RATE_LIMIT_TYPES[bucket]})",
                "server",
                headers=headers,
            )
        return verdict

    # -- launching ------------------------------------------------------------------------
    def action(self, slug: str) -> Action:
        action = ACTIONS.get(slug)
        if action is None:
            raise EdgesError(404, "NOT_FOUND", f"Action {slug} not found")
        return action

    def check_identity(self, body: dict[str, Any], action: Action) -> str | None:
        mode = body.get("identity_mode")
        if mode is not None and mode not in ("direct", "auto", "managed"):
            raise EdgesError(400, "BAD_PARAMETERS", "identity_mode must be direct, auto or managed")
        ids = body.get("identity_ids")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
            raise EdgesError(400, "BAD_PARAMETERS", "identity_ids must be an array of uuids")
        if mode == "direct" and not ids:
            raise EdgesError(400, "BAD_PARAMETERS", "identity_ids is required with identity_mode direct")
        if action.needs_direct_identity and mode != "direct":
            raise EdgesError(424, "NO_VALID_ACCOUNT_CONFIGURED", "This action needs a direct identity")
        return mode

    def check_callback(self, body: dict[str, Any]) -> dict[str, Any] | None:
        cb = body.get("callback")
        if cb is None:  # §8 #2: documented as required; not enforced with edges_strict_callback=False
            if self.state.config.edges_strict_callback:
                raise EdgesError(400, "BAD_PARAMETERS", "body must have required property 'callback'")
            return None
        if not isinstance(cb, dict) or not isinstance(cb.get("url"), str) or not cb["url"].startswith("http"):
            raise EdgesError(400, "BAD_PARAMETERS", "callback.url must be a URL")
        if cb.get("on", "final") not in ("all", "final"):
            raise EdgesError(400, "BAD_PARAMETERS", "callback.on must be all or final")
        return cb

    def launch(self, slug: str, body: Any, *, schedule: Schedule | None = None) -> Run:
        """Create an async run (or a schedule's execution)."""
        action = self.action(slug)
        if not isinstance(body, dict):
            raise EdgesError(400, "BAD_INPUT", "body must be an object")
        if "input" in body:
            raise EdgesError(400, "BAD_INPUT", "body must NOT have additional properties (input)")
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise EdgesError(400, "BAD_INPUT", "body.inputs must NOT have fewer than 1 items")
        if len(inputs) > A.MAX_ASYNC_INPUTS:
            raise EdgesError(
                400, "BAD_INPUT", f"body.inputs must NOT have more than {A.MAX_ASYNC_INPUTS} items"
            )
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            raise EdgesError(400, "BAD_PARAMETERS", "parameters must be an object")
        mode = self.check_identity(body, action)
        callback = self.check_callback(body) if schedule is None else schedule.callback
        scenario = dict(params.get("_emulator") or {}) or self._default_scenario()
        failed: dict[int, dict[str, Any]] = {}
        label = scenario.get("error_label", "NO_RESULT")
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
        run = Run(
            id=self._next_id,
            uid=new_uid(),
            action=action,
            mode="ASYNC",
            name=body.get("name"),
            inputs=inputs,
            parameters={k: v for k, v in params.items() if k != "_emulator"},
            callback=callback,
            created_at=now,
            scenario=scenario,
            input_seconds=self.state.config.edges_input_seconds,
            failed=failed,
            identity_mode=mode,
        )
        self._next_id += 1
        if schedule is not None:
            run.scheduled_run_uid, run.scheduled_run_name = schedule.uid, schedule.name
        run.plan(now, first=True)
        run.ok_indices = [i for i in range(len(inputs)) if i not in failed]
        self.runs[run.uid] = run
        self.state.count("edges", "runs_created")
        self.state.count("edges", "inputs_received", len(inputs))
        return run

    def _default_scenario(self) -> dict[str, Any]:
        return take_scenario(self.scenarios)

    def handle(self, run: Run) -> dict[str, Any]:
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
        status, _, _ = run.status_at(self.now)
        if status in ("FAILED", "INVALID"):
            return 0
        return len(run.ok_indices) * (2 if run.action.lists else 1)

    def outputs(self, run: Run, start: int, limit: int) -> list[dict[str, Any]]:
        per = 2 if run.action.lists else 1
        total = self.output_count(run)
        rows = []
        for k in range(start, min(total, start + limit)):
            index = run.ok_indices[k // per]
            row = run.action.results(run.inputs[index], index)[k % per]
            rows.append({**row, "extracted_at": self.iso(run.end_time() or self.now)})
        return rows

    def get_run(self, uid: str) -> Run:
        self.tick()
        run = self.runs.get(uid)
        if run is None:
            raise EdgesError(404, "NOT_FOUND", f"Run {uid} not found")
        return run

    # -- schedules ----------------------------------------------------------------------
    def create_schedule(self, slug: str, body: Any) -> Schedule:
        action = self.action(slug)
        if not isinstance(body, dict):
            raise EdgesError(400, "BAD_INPUT", "body must be an object")
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise EdgesError(400, "BAD_INPUT", "body.inputs must NOT have fewer than 1 items")
        if len(inputs) > A.MAX_SCHEDULE_INPUTS:
            raise EdgesError(
                400, "BAD_INPUT", f"body.inputs must NOT have more than {A.MAX_SCHEDULE_INPUTS} items"
            )
        for i, item in enumerate(inputs):
            problem = action.check(item)
            if problem:
                raise EdgesError(400, "BAD_INPUT", f"inputs[{i}]: {problem}")
        cron = body.get("cron")
        tz = body.get("timezone") or "UTC"
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise EdgesError(400, "BAD_PARAMETERS", f"timezone {tz!r} is not an IANA time zone") from None
        if cron is not None:
            from croniter import croniter

            if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
                raise EdgesError(400, "BAD_PARAMETERS", f"cron {cron!r} is not a 5-field cron expression")
        at = body.get("schedule_at")
        schedule_at = None
        if at is not None:
            try:
                when = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
            except ValueError:
                raise EdgesError(400, "BAD_PARAMETERS", "schedule_at must be a date-time") from None
            schedule_at = self.emu_time(when if when.tzinfo else when.replace(tzinfo=zone))
        self.check_identity(body, action)
        now = self.now
        schedule = Schedule(
            uid=new_uid(),
            name=body.get("name"),
            action=action,
            inputs=inputs,
            parameters=body.get("parameters") or {},
            callback=self.check_callback(body),
            cron=cron,
            timezone=tz,
            schedule_at=schedule_at,
            created_at=now,
            checked_until=now,
        )
        schedule.next_execution_at = self._next_fire(schedule, now)
        self.schedules[schedule.uid] = schedule
        self.state.count("edges", "schedules_created")
        return schedule

    def _next_fire(self, schedule: Schedule, after: float) -> float | None:
        if schedule.status != "ACTIVE":
            return None
        if schedule.cron is None:
            if schedule.last_executed_at is not None:
                return None
            return max(after, schedule.schedule_at) if schedule.schedule_at is not None else after
        from croniter import croniter

        zone = ZoneInfo(schedule.timezone)
        start = self.wall(max(after, schedule.schedule_at or after)).astimezone(zone)
        return self.emu_time(croniter(schedule.cron, start).get_next(datetime))

    def tick(self) -> None:
        """Fire every schedule whose time came (lazily, on requests)."""
        now = self.now
        for schedule in self.schedules.values():
            fire = schedule.next_execution_at
            while schedule.status == "ACTIVE" and fire is not None and fire <= now:
                previous = self.runs.get(schedule.last_run_uid or "")
                busy = previous is not None and previous.end_time() is None
                if not busy:  # a tick is skipped while the previous execution still runs
                    body = {"inputs": schedule.inputs, "parameters": schedule.parameters}
                    run = self.launch(schedule.action.slug, body, schedule=schedule)
                    run.created_at = fire
                    run.segments = []
                    run.plan(fire, first=True)
                    schedule.last_run_uid = run.uid
                    schedule.last_executed_at = fire
                if schedule.cron is None:
                    schedule.status = "COMPLETED"
                    schedule.next_execution_at = None
                    break
                fire = self._next_fire(schedule, fire + 1)
                schedule.next_execution_at = fire

    def schedule_dto(self, s: Schedule) -> dict[str, Any]:
        return {
            "uid": s.uid,
            "scheduled_run_uid": s.uid,
            "name": s.name,
            "action_id": 1,
            "action_name": s.action.slug,
            "user_uid": USER,
            "workspace_uid": WORKSPACE,
            "status": s.status,
            "postponed_until": None,
            "cron": s.cron,
            "timezone": s.timezone,
            "next_execution_at": self.iso(s.next_execution_at),
            "last_executed_at": self.iso(s.last_executed_at),
            "created_at": self.iso(s.created_at),
            "updated_at": self.iso(s.created_at),
        }

    # -- callbacks ------------------------------------------------------------------------
    def due_webhooks(self) -> list[tuple[str, Any, str]]:
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
            body = {
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
            due.append((run.callback["url"], body, run.uid))
        return due


def _int(request: Request, name: str, bounds: tuple[int, int, int]) -> int:
    low, high, default = bounds
    raw = request.query_params.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise EdgesError(400, "BAD_PARAMETERS", f"querystring/{name} must be integer") from None
    if not low <= value <= high:
        raise EdgesError(400, "BAD_PARAMETERS", f"querystring/{name} must be >= {low} and <= {high}")
    return value


def _sort_key(run_or_schedule: Any, field: str, emu: EdgesEmulator) -> Any:
    if field == "status":
        return (
            run_or_schedule.status_at(emu.now)[0]
            if isinstance(run_or_schedule, Run)
            else run_or_schedule.status
        )
    if field == "updated_at" and isinstance(run_or_schedule, Run):
        return run_or_schedule.status_at(emu.now)[1]
    return run_or_schedule.created_at


def _sorted(items: list[Any], sorts: list[str], emu: EdgesEmulator) -> list[Any]:
    if len(sorts) > A.MAX_SORT_ITEMS:
        raise EdgesError(
            400, "BAD_PARAMETERS", f"querystring/sort must NOT have more than {A.MAX_SORT_ITEMS} items"
        )
    for spec in reversed(sorts):
        field = spec.lstrip("-")
        if field not in A.SORT_FIELDS:
            raise EdgesError(
                400, "BAD_PARAMETERS", f"querystring/sort must be one of {', '.join(A.SORT_FIELDS)}"
            )
        # stable, also in reverse: equal keys keep the order of the later sort fields (and of ids)
        items.sort(key=lambda x, f=field: _sort_key(x, f, emu), reverse=spec.startswith("-"))
    return items


def build_router(state: EmulatorState) -> tuple[APIRouter, EdgesEmulator]:
    """The Edges router and its emulator object."""
    emu = EdgesEmulator(state)
    router = APIRouter(prefix=PREFIX)

    def handler(func):
        async def endpoint(request: Request) -> Response:
            verdict = None
            try:
                verdict = emu.meter(request, emu.authorize(request))
                response = await func(request)
            except EdgesError as err:
                response = err.response()
            if verdict is not None:
                response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)
            return response

        endpoint.__name__ = func.__name__
        return endpoint

    async def body_of(request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise EdgesError(400, "BAD_INPUT", "body is not valid JSON") from None

    @handler
    async def run_live(request: Request) -> Response:
        action = emu.action(request.path_params["slug"])
        body = await body_of(request)
        if not isinstance(body, dict):
            raise EdgesError(400, "BAD_INPUT", "body must be an object")
        if "inputs" in body:
            raise EdgesError(400, "BAD_INPUT", "body must NOT have additional properties (inputs)")
        item = body.get("input")
        if not isinstance(item, dict):
            raise EdgesError(400, "BAD_INPUT", "body must have required property 'input'")
        problem = action.check(item)
        if problem:
            raise EdgesError(400, "BAD_INPUT", problem)
        emu.check_identity(body, action)
        marker = (
            (item.get("custom_data") or {}).get("_emulator")
            if isinstance(item.get("custom_data"), dict)
            else None
        )
        if marker:
            status = int(marker.get("status", 424))
            params = {"postponed_until": emu.iso(emu.now + 3600)} if status == 429 else {}
            raise EdgesError(
                status,
                marker.get("label", "NO_RESULT"),
                f"{marker.get('label', 'NO_RESULT')} (live)",
                params=params,
            )
        run = Run(
            id=emu._next_id,
            uid=new_uid(),
            action=action,
            mode="LIVE",
            name=body.get("name"),
            inputs=[item],
            parameters=body.get("parameters") or {},
            callback=None,
            created_at=emu.now,
            scenario={},
            input_seconds=0,
            failed={},
        )
        emu._next_id += 1
        run.segments = [(emu.now, "SUCCEEDED", None)]
        run.ok_indices = [0]
        emu.runs[run.uid] = run
        state.count("edges", "runs_created")
        if not action.lists:
            return JSONResponse(action.results(item, 0)[0])
        page = int(request.query_params.get("cursor", "0") or 0)
        rows = [
            {**action.results(item, page * A.LIVE_PAGE_SIZE + k)[0], "rank": page * A.LIVE_PAGE_SIZE + k}
            for k in range(A.LIVE_PAGE_SIZE)
        ]
        headers = {}
        if page + 1 < A.LIVE_PAGES:
            headers["X-Pagination-Next"] = (
                f"{str(request.base_url).rstrip('/')}{request.url.path}?cursor={page + 1}"
            )
        return JSONResponse(rows, headers=headers)

    @handler
    async def run_async(request: Request) -> Response:
        run = emu.launch(request.path_params["slug"], await body_of(request))
        return JSONResponse(emu.handle(run), status_code=state.config.edges_launch_status_code)

    @handler
    async def run_schedule(request: Request) -> Response:
        schedule = emu.create_schedule(request.path_params["slug"], await body_of(request))
        return JSONResponse(emu.schedule_dto(schedule), status_code=state.config.edges_launch_status_code)

    @handler
    async def list_runs(request: Request) -> Response:
        emu.tick()
        q = request.query_params
        limit = _int(request, "limit", A.LIST_LIMIT)
        offset = _int(request, "offset", (0, 10**9, 0))
        runs = list(emu.runs.values())
        for key in ("status", "action_name", "execution_mode", "uid", "user_uid", "flow_run_id"):
            values = q.getlist(key) + q.getlist(key + "[]")
            if not values:
                continue
            if key == "status" and any(v not in RUN_STATUSES for v in values):
                raise EdgesError(
                    400, "BAD_PARAMETERS", "querystring/status must be equal to one of the allowed values"
                )
            if key == "flow_run_id":
                runs = []
                continue
            getter = {
                "status": lambda r: r.status_at(emu.now)[0],
                "action_name": lambda r: r.action.slug,
                "execution_mode": lambda r: r.mode,
                "uid": lambda r: r.uid,
                "user_uid": lambda r: USER,
            }[key]
            runs = [r for r in runs if getter(r) in values]
        runs.sort(key=lambda r: r.id)
        runs = _sorted(runs, q.getlist("sort") + q.getlist("sort[]"), emu)
        return JSONResponse([emu.run_dto(r) for r in runs[offset : offset + limit]])

    @handler
    async def get_run(request: Request) -> Response:
        return JSONResponse(emu.run_dto(emu.get_run(request.path_params["uid"])))

    @handler
    async def run_status(request: Request) -> Response:
        return JSONResponse(emu.status_dto(emu.get_run(request.path_params["uid"])))

    @handler
    async def outputs(request: Request) -> Response:
        run = emu.get_run(request.path_params["uid"])
        if run.mode == "LIVE":
            raise EdgesError(400, "BAD_PARAMETERS", "outputs are not available for live runs")
        limit = _int(request, "limit", A.OUTPUTS_LIMIT)
        q = request.query_params
        start = int(q.get("cursor") or q.get("offset") or 0)
        rows = emu.outputs(run, start, limit)
        headers = {}
        if start + limit < emu.output_count(run):
            base = f"{str(request.base_url).rstrip('/')}{request.url.path}"
            headers["X-Pagination-Next"] = f"{base}?limit={limit}&cursor={start + limit}"
        return JSONResponse(rows, headers=headers)

    @handler
    async def inputs(request: Request) -> Response:
        run = emu.get_run(request.path_params["uid"])
        limit = _int(request, "limit", A.INPUTS_LIMIT)
        offset = _int(request, "offset", (0, 10**9, 0))
        now = emu.now
        rows = []
        for i in range(offset, min(len(run.inputs), offset + limit)):
            item = run.inputs[i]
            status = run.input_status(i, now)
            error = run.failed.get(i) if status in ("FAILED", "BLOCKED") else None
            rows.append(
                {
                    "uid": f"{run.uid[:24]}{i:012d}",
                    "status": status,
                    "input_data": {k: v for k, v in item.items() if k != "custom_data"}
                    if isinstance(item, dict)
                    else item,
                    "custom_data": item.get("custom_data") if isinstance(item, dict) else None,
                    "output_count": 0 if error else (2 if run.action.lists else 1),
                    "retry_count": 0,
                    "last_error": None
                    if not error
                    else {
                        "has_failed": True,
                        "message": error["message"],
                        "scope": "input",
                        "label": error["label"],
                        "error_ref": f"ERR-{i}",
                        "params": {},
                        "validation_errors": {},
                    },
                    "started_at": emu.iso(run.created_at),
                    "finished_at": emu.iso(run.end_time()),
                    "created_at": emu.iso(run.created_at),
                    "updated_at": emu.iso(run.created_at),
                }
            )
        return JSONResponse(rows)

    @handler
    async def resume(request: Request) -> Response:
        run = emu.get_run(request.path_params["uid"])
        status = run.status_at(emu.now)[0]
        if status not in A.RESUMABLE:
            raise EdgesError(409, "CONFLICT", f"Run is {status}; only BLOCKED or STOPPED runs can be resumed")
        run.resumes += 1
        run.segments = [s for s in run.segments if s[0] <= emu.now]
        run.plan(emu.now, first=False)
        state.count("edges", "resumes")
        return JSONResponse(emu.run_dto(run))

    @handler
    async def continue_run(request: Request) -> Response:
        run = emu.get_run(request.path_params["uid"])
        if run.action.slug not in A.INCREMENTAL_ACTIONS or run.parameters.get("sync_mode") != "incremental":
            raise EdgesError(400, "BAD_PARAMETERS", "only incremental runs can be continued")
        status = run.status_at(emu.now)[0]
        if status not in A.CONTINUABLE:
            raise EdgesError(409, "CONFLICT", f"Run is {status}; it cannot be continued yet")
        run.segments = [s for s in run.segments if s[0] <= emu.now] + [(emu.now, "SCHEDULED", None)]
        run.plan(emu.now + 0.01, first=False)
        return JSONResponse(emu.run_dto(run))

    @handler
    async def list_callbacks(request: Request) -> Response:
        limit = _int(request, "limit", A.CALLBACKS_LIMIT)
        offset = _int(request, "offset", (0, 10**9, 0))
        q = request.query_params
        rows = emu.callbacks
        if q.getlist("run_uid"):
            rows = [c for c in rows if c["run_uid"] in q.getlist("run_uid")]
        if q.getlist("status"):
            rows = [c for c in rows if c["status"] in q.getlist("status")]
        return JSONResponse(
            [{k: v for k, v in c.items() if k != "body"} for c in rows[offset : offset + limit]]
        )

    def find_callback(uid: str) -> dict[str, Any]:
        for record in emu.callbacks:
            if record["uid"] == uid:
                return record
        raise EdgesError(404, "NOT_FOUND", f"Callback {uid} not found")

    @handler
    async def get_callback(request: Request) -> Response:
        record = find_callback(request.path_params["cb"])
        return JSONResponse({k: v for k, v in record.items() if k != "body"})

    @handler
    async def replay_callback(request: Request) -> Response:
        original = find_callback(request.path_params["cb"])
        if original["parent_uid"] is not None:
            raise EdgesError(400, "BAD_PARAMETERS", "only original callbacks can be replayed")
        replays = [c for c in emu.callbacks if c["parent_uid"] == original["uid"]]
        if len(replays) >= A.MAX_REPLAYS:
            raise EdgesError(409, "CONFLICT", f"a callback can be replayed at most {A.MAX_REPLAYS} times")
        record = {**original, "uid": new_uid(), "parent_uid": original["uid"], "created_at": emu.iso(emu.now)}
        emu.callbacks.append(record)
        return JSONResponse({k: v for k, v in record.items() if k != "body"})

    @handler
    async def list_schedules(request: Request) -> Response:
        emu.tick()
        q = request.query_params
        limit = _int(request, "limit", A.LIST_LIMIT)
        offset = _int(request, "offset", (0, 10**9, 0))
        rows = list(emu.schedules.values())
        if q.getlist("uid"):
            rows = [s for s in rows if s.uid in q.getlist("uid")]
        if q.getlist("status"):
            rows = [s for s in rows if s.status in q.getlist("status")]
        if q.get("action_name"):
            rows = [s for s in rows if s.action.slug in q.getlist("action_name")]
        rows = _sorted(rows, q.getlist("sort"), emu)
        return JSONResponse([emu.schedule_dto(s) for s in rows[offset : offset + limit]])

    def find_schedule(uid: str) -> Schedule:
        emu.tick()
        schedule = emu.schedules.get(uid)
        if schedule is None:
            raise EdgesError(404, "NOT_FOUND", f"Schedule {uid} not found")
        return schedule

    @handler
    async def get_schedule(request: Request) -> Response:
        return JSONResponse(emu.schedule_dto(find_schedule(request.path_params["uid"])))

    @handler
    async def schedule_action(request: Request) -> Response:
        schedule = find_schedule(request.path_params["uid"])
        verb = request.path_params["verb"]
        if verb not in ("pause", "resume", "cancel"):
            raise EdgesError(404, "NOT_FOUND", f"unknown schedule action {verb}")
        if schedule.status in ("CANCELLED", "COMPLETED"):
            raise EdgesError(409, "CONFLICT", f"Schedule is {schedule.status}")
        schedule.status = {"pause": "PAUSED", "resume": "ACTIVE", "cancel": "CANCELLED"}[verb]
        schedule.next_execution_at = emu._next_fire(schedule, emu.now)
        return JSONResponse(emu.schedule_dto(schedule))

    @handler
    async def identities(request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "uid": "6f0c7a2e-0000-4000-8000-000000000003",
                    "created_at": emu.iso(0),
                    "workspace_uid": WORKSPACE,
                    "name": "Emulated identity",
                    "type": "standard",
                    "timezone": "Europe/Paris",
                    "integrations": [],
                }
            ]
        )

    @handler
    async def workspaces(request: Request) -> Response:
        return JSONResponse([{"uid": WORKSPACE, "name": "Emulated workspace"}])

    router.add_api_route("/actions/{slug}/run/live", run_live, methods=["POST"])
    router.add_api_route("/actions/{slug}/run/async", run_async, methods=["POST"])
    router.add_api_route("/actions/{slug}/async", run_async, methods=["POST"])
    router.add_api_route("/actions/{slug}/run/schedule", run_schedule, methods=["POST"])
    router.add_api_route("/actions/{slug}/schedule", run_schedule, methods=["POST"])
    router.add_api_route("/runs", list_runs, methods=["GET"])
    router.add_api_route("/runs/callbacks", list_callbacks, methods=["GET"])
    router.add_api_route("/runs/callbacks/{cb}", get_callback, methods=["GET"])
    router.add_api_route("/runs/callbacks/{cb}/replay", replay_callback, methods=["POST"])
    router.add_api_route("/runs/{uid}", get_run, methods=["GET"])
    router.add_api_route("/runs/{uid}/status", run_status, methods=["GET"])
    router.add_api_route("/runs/{uid}/outputs", outputs, methods=["GET"])
    router.add_api_route("/runs/{uid}/inputs", inputs, methods=["GET"])
    router.add_api_route("/runs/{uid}/resume", resume, methods=["POST"])
    router.add_api_route("/runs/{uid}/continue", continue_run, methods=["POST"])
    router.add_api_route("/schedules", list_schedules, methods=["GET"])
    router.add_api_route("/schedules/{uid}", get_schedule, methods=["GET"])
    router.add_api_route("/schedules/{uid}/{verb}", schedule_action, methods=["POST"])
    router.add_api_route("/identities", identities, methods=["GET"])
    router.add_api_route("/workspaces", workspaces, methods=["GET"])
    return router, emu
