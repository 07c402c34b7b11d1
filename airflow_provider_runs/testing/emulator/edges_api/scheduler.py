"""Edges schedules: creation, cron firing and the schedule object (``specs/edges.md`` §2.3)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from airflow_provider_runs.testing.emulator.edges_api import assumptions as A
from airflow_provider_runs.testing.emulator.edges_api.actions import check_inputs
from airflow_provider_runs.testing.emulator.edges_api.errors import bad_input, bad_parameters
from airflow_provider_runs.testing.emulator.edges_api.store import Schedule, new_uid

if TYPE_CHECKING:
    from airflow_provider_runs.testing.emulator.edges_api.emulator import EdgesEmulator

WORKSPACE = "9b0f6a1e-0000-4000-8000-000000000001"
USER = "9b0f6a1e-0000-4000-8000-000000000002"


class Scheduler:
    """The schedules of an Edges emulator, fired lazily (on requests).

    :param emu: the Edges emulator (launches each execution).
    """

    def __init__(self, emu: EdgesEmulator) -> None:
        self.emu = emu
        self.schedules: dict[str, Schedule] = {}
        self.updated: dict[str, float] = {}
        """When each schedule last changed status (its ``updated_at``), by uid."""

    def create(self, slug: str, body: Any) -> Schedule:
        """Validate a schedule launch and create the schedule."""
        emu = self.emu
        action = emu.action(slug)
        inputs = check_inputs(body, A.MAX_SCHEDULE_INPUTS)
        for i, item in enumerate(inputs):
            problem = action.check(item)
            if problem:
                raise bad_input(f"inputs[{i}]: {problem}")
        cron = body.get("cron")
        tz = body.get("timezone") or "UTC"
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise bad_parameters(f"timezone {tz!r} is not an IANA time zone") from None
        if cron is not None:
            from croniter import croniter  # only schedules with a cron need it

            if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
                raise bad_parameters(f"cron {cron!r} is not a 5-field cron expression")
        at = body.get("schedule_at")
        schedule_at = None
        if at is not None:
            try:
                when = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
            except ValueError:
                raise bad_parameters("schedule_at must be a date-time") from None
            schedule_at = emu.state.clock.at(when if when.tzinfo else when.replace(tzinfo=zone))
        emu.check_identity(body, action)
        now = emu.now
        schedule = Schedule(
            uid=new_uid(),
            name=body.get("name"),
            action=action,
            inputs=inputs,
            parameters=body.get("parameters") or {},
            callback=emu.check_callback(body),
            cron=cron,
            timezone=tz,
            schedule_at=schedule_at,
            created_at=now,
            checked_until=now,
        )
        schedule.next_execution_at = self.next_fire(schedule, now)
        self.schedules[schedule.uid] = schedule
        emu.count("schedules_created")
        return schedule

    def next_fire(self, schedule: Schedule, after: float) -> float | None:
        """When the schedule fires next after ``after`` (``None``: never)."""
        if schedule.status != "ACTIVE":
            return None
        if schedule.cron is None:
            if schedule.last_executed_at is not None:
                return None
            return max(after, schedule.schedule_at) if schedule.schedule_at is not None else after
        from croniter import croniter

        zone = ZoneInfo(schedule.timezone)
        clock = self.emu.state.clock
        start = clock.wall(max(after, schedule.schedule_at or after)).astimezone(zone)
        return clock.at(croniter(schedule.cron, start).get_next(datetime))

    def tick(self) -> None:
        """Fire every schedule whose time came."""
        emu = self.emu
        now = emu.now
        for schedule in self.schedules.values():
            fire = schedule.next_execution_at
            while schedule.status == "ACTIVE" and fire is not None and fire <= now:
                previous = emu.runs.get(schedule.last_run_uid or "")
                busy = previous is not None and previous.end_time() is None
                if not busy:  # a tick is skipped while the previous execution still runs
                    body = {"inputs": schedule.inputs, "parameters": schedule.parameters}
                    run = emu.launch(schedule.action.slug, body, schedule=schedule)
                    run.created_at = fire
                    run.segments = []
                    run.plan(fire, first=True)
                    schedule.last_run_uid = run.uid
                    schedule.last_executed_at = fire
                if schedule.cron is None:
                    schedule.status = "COMPLETED"
                    self.updated[schedule.uid] = fire
                    schedule.next_execution_at = None
                    break
                fire = self.next_fire(schedule, fire + 1)
                schedule.next_execution_at = fire

    def dto(self, s: Schedule) -> dict[str, Any]:
        """The schedule object."""
        iso = self.emu.iso
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
            "next_execution_at": iso(s.next_execution_at),
            "last_executed_at": iso(s.last_executed_at),
            "created_at": iso(s.created_at),
            "updated_at": iso(self.updated.get(s.uid, s.created_at)),
        }

    # -- callbacks ------------------------------------------------------------------------
