"""Inferable logic that needs no server: the state table, errors, idempotency ids, schemas."""

from __future__ import annotations

import re

import pydantic
import pytest

from airflow_provider_runs.core.states import ActionNeeded, RunState
from airflow_provider_runs.hooks.inferable import (
    InferableHook,
    check_result_schema,
    idempotency_id,
    interpret_status,
    parse_error_body,
)
from airflow_provider_runs.results import ResultSchema


@pytest.mark.parametrize(
    ("status", "approval", "state"),
    [
        ("pending", None, RunState.QUEUED),
        ("running", None, RunState.RUNNING),
        ("paused", None, RunState.RUNNING),  # an ordinary tool call
        ("paused", {"id": "j1", "targetFn": "send_email", "input": {}}, RunState.NEEDS_ACTION),
        ("done", None, RunState.SUCCEEDED),
        ("failed", None, RunState.FAILED),
        ("archived", None, RunState.UNKNOWN),
    ],
)
def test_state_table(status, approval, state):
    assert interpret_status(status, approval=approval).state is state


def test_a_pending_approval_is_needs_action_for_an_approval():
    approval = {"id": "j1", "targetFn": "send_email", "input": {"to": "x@example.com"}}
    status = interpret_status("paused", approval=approval)
    assert status.action is ActionNeeded.APPROVAL
    assert status.details == {"job_id": "j1", "tool": "send_email", "tool_input": {"to": "x@example.com"}}
    assert "send_email" in status.message
    for plain in ("paused", "running", "done", "failed"):
        assert interpret_status(plain).action is None


@pytest.mark.parametrize(
    ("on_paused", "stop"),
    [("wait", ()), ("fail", (ActionNeeded.APPROVAL,)), ("ask", (ActionNeeded.APPROVAL,))],
)
def test_stop_conditions_follow_on_paused(on_paused, stop):
    from airflow_provider_runs.operators.inferable import InferableRunOperator
    from airflow_provider_runs.sensors.inferable import InferableRunSensor

    op = InferableRunOperator(task_id="agent", initial_prompt="Count", on_needs_action=on_paused)
    assert tuple(op.stop_on_states()) == stop
    if on_paused != "ask":  # a sensor cannot ask
        sensor = InferableRunSensor(task_id="watch", run_id="run-1", on_needs_action=on_paused)
        assert tuple(sensor.stop_on_states()) == stop


def test_error_shapes():
    assert parse_error_body(401, {"error": {"message": "No authorization token found"}}, "")[0] == (
        "No authorization token found"
    )
    zod = {
        "bodyErrors": {"issues": [{"path": ["id"], "message": "Invalid"}], "name": "ZodError"},
        "pathParameterErrors": None,
        "headerErrors": None,
        "queryParameterErrors": None,
    }
    assert parse_error_body(400, zod, "") == ("id: Invalid", "validation_error")
    schema_err = {
        "message": "'resultSchema' is not a valid JSON Schema",
        "errors": [{"path": "x", "error": "bad"}],
    }
    assert "x: bad" in parse_error_body(400, schema_err, "")[0]
    assert parse_error_body(404, None, "") == ("not found", "not_found")


def test_idempotency_id_is_stable_and_valid():
    a = idempotency_id("daily_report", "summarize", "scheduled__2026-01-01T00:00:00+00:00", -1)
    assert a == idempotency_id("daily_report", "summarize", "scheduled__2026-01-01T00:00:00+00:00", -1)
    assert re.match(r"^[0-9A-Za-z_.-]{4,128}$", a)
    assert a != idempotency_id("daily_report", "summarize", "scheduled__2026-01-01T00:00:00+00:00", 3)
    assert a != idempotency_id("daily_report", "summarize", "scheduled__2026-01-01T00:00:00+00:00", -1, 2)
    long = idempotency_id("d" * 300, "t" * 300, "r", 1)
    assert re.match(r"^[0-9A-Za-z_.-]{4,128}$", long)


class Report(pydantic.BaseModel):
    count: int
    names: list[str]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "array", "items": {}}, "must describe an object"),
        ({"type": "object"}, "must have 'properties'"),
        ({"type": "object", "properties": {"bad-name": {"type": "string"}}}, "property name 'bad-name'"),
        ({"type": "object", "properties": {"a": {"type": "nonsense"}}}, "not a valid JSON schema"),
        ("not a schema", "must be a JSON schema object"),
    ],
)
def test_bad_schemas(schema, message):
    with pytest.raises(ValueError, match=message):
        check_result_schema(schema)


def test_pydantic_model_schema_and_validation():
    result = ResultSchema.from_argument(Report)
    assert result.json_schema["properties"]["count"]["type"] == "integer"
    assert result.errors({"count": 2, "names": ["a"]}) == []
    assert result.errors({"count": "many"})
    assert result.to_xcom({"count": "3", "names": []}) == {"count": 3, "names": []}
    with pytest.raises(ValueError, match="not a pydantic BaseModel"):
        ResultSchema.from_argument(dict)


def test_dict_schema_validation_errors():
    result = ResultSchema.from_argument(
        {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    )
    assert result.errors({"n": 1}) == []
    assert any("'n' is a required property" in e for e in result.errors({}))
    assert result.errors(None) == ["the run finished without a result"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial_prompt": ""}, "initial_prompt must be a non-empty string"),
        ({"initial_prompt": "   "}, "initial_prompt must be a non-empty string"),
        ({"run_id": "a b"}, "must match"),
        ({"run_id": "abc"}, "must match"),
        ({"tools": []}, "tools cannot be an empty list"),
        ({"tools": "search"}, "tools must be a list"),
        ({"context": ["x"]}, "context must be a JSON object"),
        ({"on_status_change": {"type": "webhook", "webhook": "https://h"}}, "needs a non-empty 'statuses'"),
        ({"on_status_change": {"type": "webhook", "webhook": "ftp://h", "statuses": ["done"]}}, "http"),
    ],
)
def test_bad_run_bodies(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InferableHook.build_run_body(**{"initial_prompt": "Count tickets", **kwargs})


def test_the_wait_after_an_approval_keeps_the_tries_deadline(mocker):
    """The clock does not restart after the human answered: the resumed wait defers with the
    deadline the try had before it asked."""
    from airflow.providers.common.compat.sdk import TaskDeferred

    from airflow_provider_runs.operators.inferable import InferableRunOperator

    op = InferableRunOperator(
        task_id="agent", initial_prompt="Count", on_needs_action="ask", timeout=3600, deferrable=True
    )
    answers = []
    mocker.patch.object(InferableRunOperator, "hook", mocker.PropertyMock(return_value=mocker.Mock()))
    op.hook.answer_approval.side_effect = lambda job, decision: answers.append((job, decision))
    op.hook.run_url.return_value = "https://app.inferable.invalid/runs/run-1"
    ti = mocker.Mock()
    deadline = 1_000_000.0  # long past: the resumed wait must end at once, not an hour from now
    with pytest.raises(TaskDeferred) as deferred:
        op.after_approval(
            {"ti": ti}, event={"chosen_options": ["Approve"]}, run_id="run-1", job_id="j1", deadline=deadline
        )
    assert answers == [("j1", True)]
    assert deferred.value.kwargs["deadline"] == deadline
    assert deferred.value.trigger.deadline == deadline
