"""Service timestamps are parsed in one tolerant place (``validation.parse_timestamp``), the same
on every Python version: the forms the specs show (``../shared/specs/*.md``: RFC 3339 with ``Z``,
inference.sh's Go nanoseconds, Inferable's serialized JS ``Date``, Edges' ISO 8601 strings), and
what the hooks and operators that read them do with them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.hooks.inference_sh_requests import created_at
from airflow_provider_runs.operators import claims
from airflow_provider_runs.operators.edges_launch import runs_named
from airflow_provider_runs.validation import (
    InvalidArgumentError,
    parse_datetime,
    parse_timestamp,
    service_time,
)
from airflow_provider_runs.waiting.run_record import RunRecord

UTC = timezone.utc


def at(*args: int, tz: timezone = UTC) -> datetime:
    return datetime(*args, tzinfo=tz)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # inference.sh §3 / §7 examples: RFC 3339 with Z
        ("2026-10-20T10:00:00Z", at(2026, 10, 20, 10, 0, 0)),
        ("2026-10-20T10:00:05Z", at(2026, 10, 20, 10, 0, 5)),
        # inference.sh is a Go service: RFC3339Nano, 9 digits, trailing zeros trimmed (1-8 digits)
        ("2026-10-20T10:00:00.123456789Z", at(2026, 10, 20, 10, 0, 0, 123456)),
        ("2026-10-20T10:00:00.999999999Z", at(2026, 10, 20, 10, 0, 0, 999999)),
        ("2026-10-20T10:00:00.1Z", at(2026, 10, 20, 10, 0, 0, 100000)),
        ("2026-10-20T10:00:00.12Z", at(2026, 10, 20, 10, 0, 0, 120000)),
        ("2026-10-20T10:00:00.12345Z", at(2026, 10, 20, 10, 0, 0, 123450)),
        ("2026-10-20T10:00:00.1234567Z", at(2026, 10, 20, 10, 0, 0, 123456)),
        # Inferable: ISO 8601 of a serialized JS Date (always 3 digits)
        ("2025-01-01T00:00:00.000Z", at(2025, 1, 1)),
        ("2025-01-01T09:30:15.250Z", at(2025, 1, 1, 9, 30, 15, 250000)),
        # Edges §2.2 example, and ISO 8601 with offsets / microseconds as Python and Postgres write them
        ("2026-01-02T10:00:00Z", at(2026, 1, 2, 10)),
        ("2026-01-02T10:00:00.123456+00:00", at(2026, 1, 2, 10, 0, 0, 123456)),
        ("2026-01-02T12:00:00+02:00", at(2026, 1, 2, 12, tz=timezone(timedelta(hours=2)))),
        ("2026-01-02T04:30:00-05:30", at(2026, 1, 2, 4, 30, tz=timezone(timedelta(hours=-5, minutes=-30)))),
        ("2026-01-02T12:00:00.5+0200", at(2026, 1, 2, 12, 0, 0, 500000, tz=timezone(timedelta(hours=2)))),
        # RFC 3339 §5.6: lower-case t and z, and a space for T
        ("2026-10-20t10:00:00z", at(2026, 10, 20, 10)),
        ("2026-10-20 10:00:00Z", at(2026, 10, 20, 10)),
        # no offset: UTC; a date alone: midnight UTC; surrounding blanks ignored
        ("2026-10-20T10:00:00", at(2026, 10, 20, 10)),
        ("2026-10-20T10:00:00.123456789", at(2026, 10, 20, 10, 0, 0, 123456)),
        ("2026-10-20", at(2026, 10, 20)),
        ("  2026-10-20T10:00:00Z\n", at(2026, 10, 20, 10)),
    ],
)
def test_the_forms_the_services_send(text, expected):
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()
    assert type(parsed.tzinfo) is timezone  # a plain datetime.timezone, whatever the parser uses


def test_utc_is_the_standard_librarys_utc():
    assert parse_timestamp("2026-10-20T10:00:00Z").tzinfo is timezone.utc
    assert parse_timestamp("2026-10-20T10:00:00").tzinfo is timezone.utc


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "next week",
        "1700000000",  # a UNIX time is not a date-time here
        "1700000000.5",
        "2026-13-01T00:00:00Z",
        "2026-10-20T25:00:00Z",
        "2026-10-20T10:00:00+24:00",
        "2026-10-20T10:00:00Zjunk",
        "20261020",
    ],
)
def test_what_is_not_a_date_time_is_refused_quoting_it(text):
    with pytest.raises(ValueError, match="is not an ISO 8601 date-time") as info:
        parse_timestamp(text)
    assert repr(text[:80]) in str(info.value)


def test_a_long_unreadable_value_is_quoted_shortened():
    with pytest.raises(ValueError) as info:
        parse_timestamp("x" * 10_000)
    assert len(str(info.value)) < 200


# -- arguments (run_at, schedule_at) --------------------------------------------------------------
def test_an_argument_names_itself_when_unreadable():
    with pytest.raises(InvalidArgumentError, match=r"^run_at 'soon' is not an ISO 8601 date-time"):
        parse_datetime("soon", "run_at")
    with pytest.raises(InvalidArgumentError, match="run_at must be an ISO 8601 string or a datetime"):
        parse_datetime(1700000000, "run_at")


def test_an_argument_may_be_a_datetime_naive_ones_are_utc():
    assert parse_datetime(None, "run_at") is None
    assert parse_datetime(datetime(2026, 1, 31, 9), "run_at") == at(2026, 1, 31, 9)
    paris = at(2026, 1, 31, 10, tz=timezone(timedelta(hours=1)))
    assert parse_datetime(paris, "run_at") is paris
    assert parse_datetime("2026-01-31T09:00:00.000000001z", "run_at") == at(2026, 1, 31, 9)


# -- service timestamps: absent, readable, reported ------------------------------------------------
def test_an_absent_service_timestamp_is_none_and_not_reported(caplog):
    with caplog.at_level(logging.WARNING):
        for item in ({}, {"created_at": None}, {"created_at": ""}):
            assert service_time(item, "created_at", service="Edges") is None
    assert not caplog.records


def test_an_unreadable_service_timestamp_is_reported_once(caplog):
    item = {"id": "task_7f2", "created_at": "yesterday-ish"}
    with caplog.at_level(logging.WARNING, logger="airflow_provider_runs.validation"):
        for _ in range(3):
            assert service_time(item, "created_at", service="inference.sh") is None
        assert service_time({"uid": "r1", "finished_at": 17}, "finished_at", service="Edges") is None
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert "inference.sh sent created_at 'yesterday-ish' of 'task_7f2'" in messages[0]
    assert "Edges sent finished_at 17 of 'r1'" in messages[1]


def test_inference_sh_created_at_reads_nanoseconds_lower_case_and_naive_values():
    assert created_at({"created_at": "2026-10-20T10:00:00.123456789Z"}) == at(2026, 10, 20, 10, 0, 0, 123456)
    assert created_at({"created_at": "2026-10-20t10:00:00z"}) == at(2026, 10, 20, 10)
    assert created_at({"created_at": "2026-10-20T10:00:00"}) == at(2026, 10, 20, 10)


# -- the look-ups bound by a creation time ----------------------------------------------------------
def _listing(hook: Any, items: list[dict[str, Any]]) -> None:
    hook.iter_tasks = lambda **_: iter(items)


@pytest.mark.parametrize(
    "old_created_at",
    [
        "2026-10-20T08:59:59.999999999Z",  # Go nanoseconds (refused by 3.10's fromisoformat)
        "2026-10-20t08:59:59z",  # RFC 3339 lower case
        "2026-10-20T08:59:59",  # no offset: UTC (a naive datetime cannot be compared)
        "2026-10-20T10:59:59+02:00",  # an offset
    ],
)
def test_the_inference_sh_look_up_stops_at_its_created_after_cut_off(old_created_at):
    hook = InferenceShHook()
    new = {"id": "task_new", "input": {"text": "hi"}, "created_at": "2026-10-20T09:00:01.5Z"}
    old = {"id": "task_old", "input": {"text": "hi"}, "created_at": old_created_at}
    _listing(hook, [new, old])
    found = hook.find_tasks({"text": "hi"}, created_after=at(2026, 10, 20, 9))
    assert [task["id"] for task in found] == ["task_new"]


def test_the_inference_sh_look_up_reports_a_task_it_cannot_date(caplog):
    hook = InferenceShHook()
    odd = {"id": "task_odd", "input": {"text": "hi"}, "created_at": "last tuesday"}
    _listing(hook, [odd])
    with caplog.at_level(logging.WARNING, logger="airflow_provider_runs.validation"):
        found = hook.find_tasks({"text": "hi"}, created_after=at(2026, 10, 20, 9))
    assert [task["id"] for task in found] == ["task_odd"]  # kept: it may be this request's
    assert any("task_odd" in r.getMessage() and "last tuesday" in r.getMessage() for r in caplog.records)


class _Runs:
    """An Edges hook listing fixed runs, newest first."""

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        self.runs = runs

    def iter_runs(self, **_: Any) -> Any:
        return iter(self.runs)


def test_the_edges_look_up_stops_at_its_cut_off():
    runs = [
        {"uid": "r3", "name": "airflow:x:part1of2", "created_at": "2026-01-02T10:00:00.123456789Z"},
        {"uid": "r2", "name": "airflow:x:part2of2", "created_at": "2026-01-02T10:59:00+02:00"},
        {"uid": "r1", "name": "airflow:x:part2of2", "created_at": "2026-01-02T08:00:00Z"},
    ]
    found = runs_named(_Runs(runs), "act", "airflow:x", since=at(2026, 1, 2, 9))  # type: ignore[arg-type]
    assert found == {"airflow:x:part1of2": "r3"}  # r2 was created at 08:59 UTC


# -- the package's own records ---------------------------------------------------------------------
def test_a_claims_time_and_a_run_record_read_through_the_same_parser():
    assert claims._parse_time("2026-01-02T10:00:00.123456789Z") == at(2026, 1, 2, 10, 0, 0, 123456)
    assert claims._parse_time("2026-01-02T10:00:00") == at(2026, 1, 2, 10)
    assert claims._parse_time("nope") is None
    record = RunRecord.from_value({"run_id": "r1", "submitted_at": "2026-01-02T10:00:00Z", "try_number": 1})
    assert record is not None and record.submitted_datetime == at(2026, 1, 2, 10)


def test_a_run_record_with_an_unreadable_time_counts_as_none():
    assert RunRecord.from_value({"run_id": "r1", "submitted_at": "soon", "try_number": 1}) is None
