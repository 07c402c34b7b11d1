"""The logic of the Edges schedule tools without I/O: times compared as times across formats, the
next run of a schedule, schedule names and digests, and the run-action note."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_runs.hooks.edges_schedule_runs import floor_second, judge_page, next_run
from airflow_provider_runs.operators.edges_run_actions import changed
from airflow_provider_runs.operators.edges_schedule_lookup import (
    DIGEST_CHARS,
    definition_digest,
    sealed_callback,
    split_name,
)
from airflow_provider_runs.sensors.edges_schedule import SINCE_KEY, EdgesScheduleRunSensor
from airflow_provider_runs.triggers.edges_schedule import EdgesScheduleRunTrigger

from support import FakeStateStore, make_context, roundtrip

CUT = datetime(2026, 1, 2, 10, 30, 0, 400000, tzinfo=timezone.utc)
"""A sensor that started at 10:30:00.4 UTC."""


def page(*created: str, schedule: str = "s1") -> list[dict]:
    return [{"uid": f"r{i}", "scheduled_run_uid": schedule, "created_at": c} for i, c in enumerate(created)]


@pytest.mark.parametrize(
    ("created", "is_next"),
    [
        ("2026-01-02T10:30:00Z", True),  # same second: a service that drops the fraction still counts
        ("2026-01-02T10:30:00+00:00", True),
        ("2026-01-02T10:30:00.000000001Z", True),  # nanoseconds
        ("2026-01-02T10:30:00.9z", True),
        ("2026-01-02 10:31:00Z", True),
        ("2026-01-02T12:31:00+02:00", True),  # 10:31 UTC
        ("2026-01-02T05:31:00-05:00", True),  # 10:31 UTC
        ("2026-01-02T12:00:00+02:00", False),  # 10:00 UTC, though the text sorts after "10:30"
        ("2026-01-02T10:29:59.999Z", False),
        ("2026-01-02T10:29:59.999999999+00:00", False),
        ("2026-01-02T10:30:00+00:01", False),  # 10:29 UTC
        ("not a time", False),
        ("", False),
    ],
)
def test_a_run_is_next_only_when_created_at_or_after_the_cut_off_as_a_time(created, is_next):
    verdict = judge_page(page(created), "s1", CUT, page_size=20)
    assert bool(verdict.matches) is is_next


def test_runs_of_other_schedules_never_match():
    verdict = judge_page(page("2026-01-02T11:00:00Z", schedule="s2"), "s1", CUT, page_size=20)
    assert verdict.matches == ()


def test_the_next_run_is_the_oldest_since_the_cut_off():
    rows = page("2026-01-02T12:40:00+02:00", "2026-01-02T10:35:00.5Z", "2026-01-02T10:20:00Z")
    verdict = judge_page(rows, "s1", CUT, page_size=3)
    assert next_run(verdict.matches)["uid"] == "r1"  # 10:35 UTC, before 10:40 UTC
    assert not verdict.read_on  # the page's oldest run is older than the cut-off


def test_a_full_page_newer_than_the_cut_off_reads_on():
    rows = page("2026-01-02T11:00:00Z", "2026-01-02T10:45:00Z", schedule="other")
    assert judge_page(rows, "s1", CUT, page_size=2).read_on
    assert not judge_page(rows, "s1", CUT, page_size=3).read_on  # a short page is the last


def test_floor_second():
    assert floor_second(CUT) == CUT.replace(microsecond=0)


# -- names and digests --------------------------------------------------------------------------
def test_names_carry_a_digest_of_the_definition():
    digest = definition_digest({"action": "a", "inputs": [{"x": 1}]})
    assert len(digest) == DIGEST_CHARS and digest == definition_digest({"inputs": [{"x": 1}], "action": "a"})
    assert digest != definition_digest({"action": "a", "inputs": [{"x": 2}]})
    assert split_name(f"weekly #{digest}") == ("weekly", digest)
    assert split_name(f"a #b #{digest}") == ("a #b", digest)
    assert split_name("weekly") == ("weekly", None)
    assert split_name("weekly #NOTHEX000000") == ("weekly #NOTHEX000000", None)
    assert split_name(None) == (None, None)


def test_a_callback_secret_enters_the_digest_only_hashed():
    sealed = sealed_callback({"url": "https://h", "headers": {"X-Token": "s3cret"}})
    assert "s3cret" not in str(sealed) and sealed["url"] == "https://h"
    assert sealed != sealed_callback({"url": "https://h", "headers": {"X-Token": "other"}})
    assert sealed_callback(None) is None


# -- the run-action note ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "moved"),
    [
        ({"status": "BLOCKED", "updated_at": "2026-01-02T10:00:00Z"}, False),
        ({"status": "BLOCKED", "updated_at": "2026-01-02T10:00:00.000+00:00"}, False),  # same time
        ({"status": "BLOCKED", "updated_at": "2026-01-02T12:00:00+02:00"}, False),
        ({"status": "BLOCKED", "updated_at": "2026-01-02T10:00:01Z"}, True),
        ({"status": "QUEUED", "updated_at": "2026-01-02T10:00:00Z"}, True),
    ],
)
def test_a_run_moved_when_its_status_or_updated_at_changed_as_a_time(now, moved):
    before = {"status": "BLOCKED", "updated_at": "2026-01-02T10:00:00Z"}
    assert changed(now, before) is moved


# -- the sensor and its trigger -----------------------------------------------------------------
def test_the_cut_off_is_created_after_floored_or_the_first_tries_start():
    given = EdgesScheduleRunSensor(
        task_id="s", schedule_uid="s1", created_after="2026-01-02T12:30:00.7+02:00"
    )
    assert given.cut_off(make_context()) == datetime(2026, 1, 2, 10, 30, tzinfo=timezone.utc)
    store = FakeStateStore()
    store.set(SINCE_KEY, "2026-01-02T10:00:00+00:00")
    kept = EdgesScheduleRunSensor(task_id="s", schedule_uid="s1")
    assert kept.cut_off(make_context(2, store)) == datetime(2026, 1, 2, 10, tzinfo=timezone.utc)
    fresh = FakeStateStore()
    now = EdgesScheduleRunSensor(task_id="s", schedule_uid="s1").cut_off(make_context(1, fresh))
    assert abs(now - datetime.now(timezone.utc)) < timedelta(seconds=2) and fresh.data[SINCE_KEY]


def test_the_sensor_defers_by_default_and_refuses_reschedule():
    assert EdgesScheduleRunSensor(task_id="s", schedule_uid="s1").deferrable is True
    with pytest.raises(ValueError, match="reschedule"):
        EdgesScheduleRunSensor(task_id="s", schedule_uid="s1", mode="reschedule")


def test_the_trigger_round_trips_with_primitives_only():
    trigger = EdgesScheduleRunTrigger(
        conn_id="edges_default",
        schedule_uid="s1",
        action_name="linkedin-extract-people",
        created_after=CUT.isoformat(),
        poll_interval=30,
        deadline=1_800_000_000.0,
        schedule_url="https://app.edges.run/schedules/s1",
    )
    again = roundtrip(trigger)
    assert again.serialize() == trigger.serialize()
    assert all(isinstance(v, str | int | float | dict | type(None)) for v in trigger.serialize()[1].values())
