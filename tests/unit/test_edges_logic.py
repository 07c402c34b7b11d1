"""Edges logic that needs no server: the four status tables, body streaming, input files, params."""

from __future__ import annotations

import json

import pytest

from airflow_provider_runs.core.states import RunState
from airflow_provider_runs.hooks.edges import (
    HANDLE_STATES,
    INPUT_STATES,
    RUN_STATES,
    SCHEDULE_STATES,
    EdgesHook,
    check_sort,
    interpret_status,
    parse_error_body,
    schedule_uid,
    streamed_launch_body,
)
from airflow_provider_runs.inputs import InputSource

RUN_ROWS = [
    ("CREATED", RunState.QUEUED),
    ("QUEUED", RunState.QUEUED),
    ("SCHEDULED", RunState.QUEUED),
    ("RUNNING", RunState.RUNNING),
    ("INVALID", RunState.FAILED),
    ("BLOCKED", RunState.NEEDS_ACTION),
    ("STOPPED", RunState.NEEDS_ACTION),
    ("FAILED", RunState.FAILED),
    ("PARTIAL_SUCCEEDED", RunState.PARTIAL),
    ("SUCCEEDED", RunState.SUCCEEDED),
]


@pytest.mark.parametrize(("status", "state"), RUN_ROWS)
def test_run_status_table(status, state):
    assert interpret_status(status).state is state


def test_tables_are_complete_and_distinct():
    assert len(RUN_STATES) == 10
    assert set(HANDLE_STATES) == {"pending", "running", "completed", "failed"}
    assert set(INPUT_STATES) == {
        "CREATED",
        "QUEUED",
        "SCHEDULED",
        "RUNNING",
        "BLOCKED",
        "FAILED",
        "SUCCEEDED",
        "STOPPED",
    }
    assert set(SCHEDULE_STATES) == {"ACTIVE", "CANCELLED", "PAUSED", "COMPLETED"}


def test_last_error_and_postponed():
    status = interpret_status(
        "BLOCKED",
        last_error={"label": "LIMIT_REACHED", "message": "daily cap", "params": {"postponed_until": "T"}},
    )
    assert status.message == "LIMIT_REACHED: daily cap" and status.details["postponed_until"] == "T"
    assert interpret_status(42).state is RunState.UNKNOWN
    assert interpret_status("NEW_THING").state is RunState.UNKNOWN


def test_error_body():
    body = {"error_label": "BAD_INPUT", "error_scope": "input", "message": "bad url", "status_code": 400}
    assert parse_error_body(400, body, "") == ("bad url", "BAD_INPUT")


def test_streamed_body_is_valid_json():
    items = [{"linkedin_profile_url": f"https://www.linkedin.com/in/u{i}"} for i in range(1234)]
    body = streamed_launch_body(lambda: iter(items), {"parameters": {"a": 1}, "name": "n"})
    decoded = json.loads(b"".join(body.chunks()))
    assert decoded["inputs"] == items and decoded["parameters"] == {"a": 1} and decoded["name"] == "n"
    assert json.loads(b"".join(body.chunks())) == decoded  # re-iterable for retries
    assert json.loads(b"".join(streamed_launch_body(lambda: iter(items[:1]), {}).chunks())) == {
        "inputs": items[:1]
    }


def test_list_params():
    params = EdgesHook.run_list_params(
        {"status": ["RUNNING", "QUEUED"], "action_name": "a"}, "-created_at", 20, 40
    )
    assert params == [
        ("limit", 20),
        ("offset", 40),
        ("status", "RUNNING"),
        ("status", "QUEUED"),
        ("action_name", "a"),
        ("sort", "-created_at"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"offset": -1}, "offset must be a non-negative"),
        ({"filters": {"colour": "red"}}, "unknown run filter"),
        ({"filters": {"status": "DONE"}}, "unknown run status"),
        ({"sort": "name"}, "sort field 'name' is not one of"),
    ],
)
def test_list_params_errors(kwargs, message):
    args = {"filters": None, "sort": None, "limit": 10, "offset": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        EdgesHook.run_list_params(args["filters"], args["sort"], args["limit"], args["offset"])


def test_check_sort_limit():
    with pytest.raises(ValueError, match="1 to 10"):
        check_sort(["created_at"] * 11)


def test_schedule_uid_keys():
    assert schedule_uid({"scheduled_run_uid": "a"}) == "a"
    assert schedule_uid({"schedule_run_uid": "b"}) == "b"
    assert schedule_uid({"uid": "c"}) == "c"


def test_jsonl_and_csv_sources(tmp_path):
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"a": 1}\n\n{"a": 2, "custom_data": {"id": 7}}\n')
    source = InputSource(path=str(jsonl))
    assert source.count() == 2 and list(source) == [{"a": 1}, {"a": 2, "custom_data": {"id": 7}}]
    csv_file = tmp_path / "in.csv"
    csv_file.write_text('linkedin_profile_url,custom_data\nhttps://x,"{""id"": 1}"\nhttps://y,\n')
    rows = list(InputSource(path=str(csv_file)))
    assert rows == [
        {"linkedin_profile_url": "https://x", "custom_data": {"id": 1}},
        {"linkedin_profile_url": "https://y"},
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"a": 1}\n{"a": \n', "line 2: not valid JSON"),
        ('{"a": 1}\n[1, 2]\n', "line 2: expected a JSON object"),
    ],
)
def test_bad_lines_name_their_number(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        InputSource(path=str(path)).count()
