"""Edges logic that needs no server: the run state table, run groups, body streaming, input files,
params."""

from __future__ import annotations

import json

import pytest

from airflow_provider_runs.core.states import ActionNeeded, RunState, RunStatus
from airflow_provider_runs.hooks.base import ServiceSettings
from airflow_provider_runs.hooks.edges import (
    RUN_STATES,
    EdgesHook,
    RunGroup,
    check_sort,
    interpret_status,
    parse_error_body,
    schedule_uid,
    streamed_launch_body,
)
from airflow_provider_runs.hooks.edges_groups import combine_statuses
from airflow_provider_runs.inputs import InputSource
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.sensors.edges import EdgesRunSensor

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


def test_table_is_complete():
    assert len(RUN_STATES) == 10


@pytest.mark.parametrize(
    ("status", "action"), [("BLOCKED", ActionNeeded.BLOCKED), ("STOPPED", ActionNeeded.STOPPED)]
)
def test_paused_statuses_say_why(status, action):
    assert interpret_status(status).action is action
    assert interpret_status(status.lower()).action is action


def test_only_paused_statuses_carry_an_action():
    for status, state in RUN_ROWS:
        if state is not RunState.NEEDS_ACTION:
            assert interpret_status(status).action is None, status


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


# -- run groups -----------------------------------------------------------------------------------
def test_run_group_round_trips_its_primitive_form():
    group = RunGroup.parse("a,b,c")
    assert group.uids == ("a", "b", "c") and group.is_split and group.first == "a"
    assert group.run_id == "a,b,c" and RunGroup.of(["a", "b", "c"]) == group
    single = RunGroup.parse("r1")
    assert single.uids == ("r1",) and not single.is_split and single.run_id == "r1"
    assert RunGroup.parse("a,,b,").uids == ("a", "b")
    assert RunGroup.parse("").uids == ("",)  # checked (and refused) as the id it was given
    with pytest.raises(ValueError):
        RunGroup(())


def test_group_cost_and_url(monkeypatch):
    conn = {"conn_type": "edges", "host": "https://edges.example/v1", "password": "k"}
    monkeypatch.setenv("AIRFLOW_CONN_EDGES_DEFAULT", json.dumps(conn))
    hook = EdgesHook()
    assert hook.batch_cost("a,b,c") == 3 and hook.batch_cost("a") == 1
    assert hook.run_url("a,b,c") == hook.run_url("a") == "https://app.edges.run/runs/a"


def test_group_needing_action_keeps_the_reason():
    paused = interpret_status("BLOCKED", last_error={"label": "LIMIT", "message": "cap"})
    done = interpret_status("SUCCEEDED")
    combined = combine_statuses([("a", done), ("b", paused)])
    assert combined.state is RunState.NEEDS_ACTION and combined.action is ActionNeeded.BLOCKED
    assert combined.details["run_uid"] == "b"


def test_group_outcomes():
    ok, failed = RunStatus(RunState.SUCCEEDED, "SUCCEEDED"), RunStatus(RunState.FAILED, "FAILED", "boom")
    assert combine_statuses([("a", ok), ("b", ok)]).state is RunState.SUCCEEDED
    assert combine_statuses([("a", failed), ("b", failed)]).state is RunState.FAILED
    partial = combine_statuses([("a", ok), ("b", failed)])
    assert partial.state is RunState.PARTIAL and partial.message == "run b: boom"
    running = combine_statuses([("a", ok), ("b", RunStatus(RunState.RUNNING, "RUNNING"))])
    assert running.state is RunState.RUNNING and running.details["run_uid"] == "b"


# -- typed stop conditions ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("on_blocked", "on_stopped", "expected"),
    [
        ("fail", "fail", [ActionNeeded.BLOCKED, ActionNeeded.STOPPED]),
        ("resume", "wait", [ActionNeeded.BLOCKED]),
        ("wait", "resume", [ActionNeeded.STOPPED]),
        ("wait", "wait", []),
    ],
)
def test_operator_stop_conditions(on_blocked, on_stopped, expected):
    op = EdgesActionOperator(
        task_id="t", action="a", inputs=[{}], on_needs_action={"BLOCKED": on_blocked, "STOPPED": on_stopped}
    )
    assert list(op.stop_on_states()) == expected


def test_sensor_stop_conditions():
    assert list(EdgesRunSensor(task_id="s", run_id="r").stop_on_states()) == [
        ActionNeeded.BLOCKED,
        ActionNeeded.STOPPED,
    ]
    assert list(EdgesRunSensor(task_id="s", run_id="r", on_needs_action="wait").stop_on_states()) == []


# -- the async twins never block ------------------------------------------------------------------
@pytest.mark.asyncio
async def test_acancel_run_reads_the_connection_without_blocking(monkeypatch):
    """Edges cannot cancel: ``acancel_run`` only logs the run's URL, read from settings loaded
    without blocking (never the blocking connection read, in the triggerer)."""
    hook = EdgesHook()
    warnings = []

    def blocking(conn_id):
        raise AssertionError("a blocking connection read in async code")

    async def asettings():
        hook._settings = ServiceSettings("https://edges.example/v1", "k")
        return hook._settings

    monkeypatch.setattr(hook, "get_connection", blocking)
    monkeypatch.setattr(hook, "asettings", asettings)
    monkeypatch.setattr(hook.log, "warning", lambda message, *args: warnings.append(message % args))
    assert await hook.acancel_run("a,b") is None
    assert warnings == ["Edges has no run-cancel endpoint; run a,b keeps going: https://app.edges.run/runs/a"]
