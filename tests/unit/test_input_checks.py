"""Issue 11 (items 4 and 10): bad input is caught before any HTTP call, naming the argument, and
errors no retry can fix fail the task without retrying (``AirflowFailException``).

Names added by the fix are imported inside the tests, so each test fails on its own on the old
code instead of the whole module failing to import.
"""

from __future__ import annotations

import json
import os
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_runs.core.errors import AuthError, BadRequestError, TransientError
from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.base import path_segment
from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.inferable import InferableHook
from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.inputs import InputSource
from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow_provider_runs.sensors.edges import EdgesRunSensor
from airflow_provider_runs.sensors.inference_sh import InferenceShTaskSensor

from support import make_context

NAN, INF = float("nan"), float("inf")


class NoHttp:
    """Stands in for ``send``/``asend``: any call is a test failure."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.calls.append(request)
        raise AssertionError(f"unexpected HTTP call: {request.method} {request.path}")


@pytest.fixture
def no_http(monkeypatch):
    guard = NoHttp()
    for cls in (InferenceShHook, InferableHook, EdgesHook):
        monkeypatch.setattr(cls, "send", lambda self, request: guard(request))
    return guard


# -- item 4: ids in URL paths ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("abc?x=1#", "abc%3Fx%3D1%23"),
        ("a b", "a%20b"),
        ("task_01%2e", "task_01%252e"),
        ("run.1", "run.1"),
        ("...", "..."),
        ("uid-1_A~", "uid-1_A~"),
    ],
)
def test_path_segments_are_percent_encoded(value, encoded):
    assert path_segment(value, "run_id") == encoded


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("..", r"run_id '\.\.' is not an id"),
        (".", r"run_id '\.' is not an id"),
        (" .. ", "is not an id"),
        ("", "run_id '' is empty"),
        ("  ", "is empty"),
        ("a/b", "contains '/'"),
        ("a\nb", "control characters"),
        ("a\x00b", "control characters"),
        ("a\x7fb", "control characters"),
        (12, "run_id must be a string"),
        (None, "run_id must be a string"),
    ],
)
def test_bad_path_segments_are_refused_naming_the_argument(value, message):
    from airflow_provider_runs.validation import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match=message) as err:
        path_segment(value, "run_id")
    assert isinstance(err.value, ValueError) and isinstance(err.value, AirflowFailException)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: InferenceShHook().get_task(".."), "task_id"),
        (lambda: InferenceShHook().get_task_status("."), "task_id"),
        (lambda: InferenceShHook().cancel_task(".."), "task_id"),
        (lambda: InferenceShHook().get_session(".."), "session_id"),
        (lambda: InferenceShHook().keepalive_session("a\tb"), "session_id"),
        (lambda: InferenceShHook().end_session(".."), "session_id"),
        (lambda: EdgesHook().get_run(".."), "run_uid"),
        (lambda: EdgesHook().get_run_status("."), "run_uid"),
        (lambda: EdgesHook().resume_run(".."), "run_uid"),
        (lambda: EdgesHook().continue_run(".."), "run_uid"),
        (lambda: list(EdgesHook().iter_outputs("..")), "run_uid"),
        (lambda: list(EdgesHook().iter_inputs("..")), "run_uid"),
        (lambda: EdgesHook().get_schedule(".."), "schedule_uid"),
        (lambda: EdgesHook().schedule_action("..", "pause"), "schedule_uid"),
    ],
)
def test_hooks_refuse_bad_ids_before_any_call(no_http, call, argument):
    with pytest.raises(ValueError, match=rf"^{argument} .*(not an id|control characters)"):
        call()
    assert no_http.calls == []


def test_inferable_ids_and_cluster_are_path_segments(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_INFERABLE_DEFAULT",
        json.dumps({"conn_type": "inferable", "password": "sk_x_0000000000", "extra": {"cluster_id": "c1"}}),
    )
    sent: list[str] = []
    monkeypatch.setattr(InferableHook, "send", lambda self, request: sent.append(request.path) or _Body({}))
    hook = InferableHook()
    with pytest.raises(ValueError, match=r"^run_id '\.\.' is not an id"):
        hook.get_run("..")
    with pytest.raises(ValueError, match=r"^job_id '\.' is not an id"):
        hook.answer_approval(".", True)
    hook.get_run("r?x=1#")
    assert sent == ["/clusters/c1/runs/r%3Fx%3D1%23"]
    with pytest.raises(ValueError, match=r"^cluster_id '\.\.' is not an id"):
        InferableHook(cluster_id="..").get_run("r1")
    assert sent == ["/clusters/c1/runs/r%3Fx%3D1%23"]


class _Body:
    def __init__(self, body: Any) -> None:
        self.body, self.headers = body, {}


@pytest.mark.parametrize("sensor_cls", [InferenceShTaskSensor, EdgesRunSensor])
@pytest.mark.parametrize("run_id", ["..", ".", "a/b", "x\ny"])
def test_sensors_refuse_a_bad_run_id_before_any_call(no_http, sensor_cls, run_id):
    sensor = sensor_cls(task_id="s", run_id=run_id, deferrable=False, poll_interval=0.01)
    with pytest.raises(AirflowFailException, match=r"^run_id "):
        sensor.execute(make_context())
    with pytest.raises(AirflowFailException, match=r"^run_id "):
        sensor.poke(make_context())
    assert no_http.calls == []


# -- item 10: durations ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"poll_interval": NAN}, "poll_interval must be a finite number"),
        ({"poll_interval": INF}, "poll_interval must be a finite number"),
        ({"poll_interval": 1e300}, "poll_interval must be at most 86,400 seconds"),
        ({"poll_interval": timedelta(days=2)}, "poll_interval must be at most"),
        ({"timeout": NAN}, "timeout must be a finite number"),
        ({"timeout": -INF}, "timeout must be a finite number"),
        ({"timeout": 1e300}, "timeout must be at most 31,536,000 seconds"),
        ({"timeout": timedelta(days=366)}, "timeout must be at most"),
        ({"max_consecutive_failures": True}, "max_consecutive_failures must be a positive integer"),
    ],
)
@pytest.mark.parametrize("build", ["inference_sh", "inferable", "edges", "sensor"])
def test_wait_arguments_are_finite_and_sane(build, kwargs, message):
    factories = {
        "inference_sh": lambda: InferenceShTaskOperator(task_id="t", app="a/b@v1", **kwargs),
        "inferable": lambda: InferableRunOperator(task_id="t", initial_prompt="p", **kwargs),
        "edges": lambda: EdgesActionOperator(task_id="t", action="a", inputs=[{}], **kwargs),
        "sensor": lambda: EdgesRunSensor(task_id="s", run_id="r", **kwargs),
    }
    with pytest.raises(ValueError, match=message) as err:
        factories[build]()
    assert isinstance(err.value, AirflowFailException)


def test_sane_wait_arguments_still_pass():
    op = InferenceShTaskOperator(
        task_id="t", app="a/b@v1", poll_interval=timedelta(days=1), timeout=timedelta(days=365)
    )
    assert (op.poll_interval, op.timeout) == (86400.0, 365 * 86400.0)


# -- item 10: output files ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "output_path is empty"),
        ("   ", "output_path is empty"),
        (123, "output_path must be a file path or URL string; got int"),
        (["a.json"], "output_path must be a file path or URL string; got list"),
        ("{tmp}", "is a directory"),
        ("{tmp}/file.txt/out.json", "is not a directory"),
    ],
)
def test_output_path_is_checked_before_the_run(tmp_path, no_http, value, message):
    (tmp_path / "file.txt").write_text("x")
    if isinstance(value, str):
        value = value.format(tmp=tmp_path)
    ops = [
        InferenceShTaskOperator(task_id="t", app="a/b@v1", input={}, output_path=value),
        EdgesActionOperator(task_id="e", action="a", inputs=[{"x": 1}], output_path=value),
        EdgesActionOperator(task_id="f", action="a", inputs=[{"x": 1}], failed_inputs_path=value),
    ]
    for op in ops:
        name = "failed_inputs_path" if getattr(op, "failed_inputs_path", None) == value else "output_path"
        with pytest.raises(AirflowFailException, match=message.replace("output_path", name)):
            op.execute(make_context())
    sensor = InferenceShTaskSensor(task_id="s", run_id="task_1", output_path=value)
    with pytest.raises(AirflowFailException, match=message):
        sensor.execute(make_context())
    assert no_http.calls == []


def test_output_path_in_a_read_only_directory(tmp_path, monkeypatch):
    from airflow_provider_runs.validation import check_output_path

    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "old.json").write_text("{}")
    real_access = os.access
    # root may write anywhere: refuse write access to ``locked`` and what is in it
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p).startswith(str(locked)) else real_access(p, mode)
    )
    with pytest.raises(ValueError, match=r"directory '.*locked' is not writable"):
        check_output_path(str(locked / "out.json"), "output_path")
    with pytest.raises(ValueError, match=r"directory '.*locked' is not writable"):
        check_output_path(str(locked / "new" / "out.json"), "output_path")
    with pytest.raises(ValueError, match=r"output_path '.*old.json' is not writable"):
        check_output_path(str(locked / "old.json"), "output_path")


def test_good_output_paths(tmp_path):
    from airflow_provider_runs.validation import check_output_path

    assert check_output_path(None, "output_path") is None
    assert check_output_path(tmp_path / "out.json", "output_path") == str(tmp_path / "out.json")
    assert check_output_path(str(tmp_path / "new" / "dir" / "o.json"), "output_path").endswith("o.json")
    assert check_output_path("s3://bucket/key.json", "output_path") == "s3://bucket/key.json"


def test_a_path_object_output_is_written(tmp_path):
    from airflow_provider_runs.outputs import write_json

    write_json(tmp_path / "sub" / "o.json", {"a": 1})
    assert json.loads((tmp_path / "sub" / "o.json").read_text()) == {"a": 1}


# -- item 10: JSON inputs ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "message"),
    [
        (lambda: InferenceShTaskOperator(task_id="t", app="a/b@v1", input={"x": NAN}), r"input\['x'\]"),
        (
            lambda: InferenceShTaskOperator(task_id="t", app="a/b@v1", input={"x": [1, {"y": INF}]}),
            r"input\['x'\]\[1\]\['y'\]",
        ),
        (
            lambda: InferenceShTaskOperator(task_id="t", app="a/b@v1", input={"x": object()}),
            r"input\['x'\] is not valid JSON: object values",
        ),
        (
            lambda: InferenceShTaskOperator(task_id="t", app="a/b@v1", input={}, metadata={"m": NAN}),
            r"metadata\['m'\]",
        ),
        (
            lambda: InferenceShTaskOperator(task_id="t", app="a/b@v1", input={(1, 2): 1}),
            "input is not valid JSON: key",
        ),
        (lambda: InferableRunOperator(task_id="t", initial_prompt="p", input={"x": NAN}), r"input\['x'\]"),
        (
            lambda: InferableRunOperator(task_id="t", initial_prompt="p", context={"d": datetime.now()}),
            r"context\['d'\] is not valid JSON: datetime values",
        ),
        (
            lambda: EdgesActionOperator(task_id="t", action="a", inputs=[{"a": 1}, {"b": NAN}]),
            r"inputs\[1\]\['b'\]",
        ),
        (
            lambda: EdgesActionOperator(task_id="t", action="a", inputs='[{"b": NaN}]'),
            r"inputs\[0\]\['b'\]",
        ),
        (
            lambda: EdgesActionOperator(task_id="t", action="a", mode="live", input={"s": {1}}),
            r"input\['s'\] is not valid JSON: set values",
        ),
        (
            lambda: EdgesActionOperator(task_id="t", action="a", inputs=[{}], parameters={"p": INF}),
            r"parameters\['p'\]",
        ),
    ],
)
def test_inputs_must_be_strict_json(no_http, op, message):
    with pytest.raises(AirflowFailException, match=message) as err:
        op().execute(make_context())
    assert isinstance(err.value, ValueError)
    assert no_http.calls == []


def test_self_referencing_input():
    from airflow_provider_runs.validation import check_json

    loop: dict[str, Any] = {}
    loop["me"] = loop
    with pytest.raises(ValueError, match="circular"):
        check_json(loop, "input")


def test_jsonl_file_with_nan_names_the_line(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"a": 1}\n{"a": NaN}\n')
    with pytest.raises(
        ValueError, match=r"inputs_path .* line 2: not valid JSON \(NaN is not a JSON value\)"
    ):
        InputSource(path=str(path)).count()


def test_hooks_refuse_nan_in_bodies(no_http):
    with pytest.raises(ValueError, match=r"input\['x'\]"):
        InferenceShHook.build_run_request("a/b@v1", {"x": NAN})
    with pytest.raises(ValueError, match=r"input\['x'\]"):
        InferableHook.build_run_body(initial_prompt="p", input={"x": NAN})


# -- item 10: dates ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["not-a-date", "2026-13-01T00:00:00Z", "tomorrow", 1700000000])
def test_run_at_must_be_a_date_time(no_http, value):
    op = InferenceShTaskOperator(task_id="t", app="a/b@v1", input={}, run_at=value)
    with pytest.raises(AirflowFailException, match="run_at"):
        op.execute(make_context())
    assert no_http.calls == []


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("2026-01-31T09:00:00Z", "2026-01-31T09:00:00+00:00"),
        ("2026-01-31T10:00:00+01:00", "2026-01-31T10:00:00+01:00"),
        ("2026-01-31T09:00:00", "2026-01-31T09:00:00+00:00"),
        (datetime(2026, 1, 31, 9), "2026-01-31T09:00:00+00:00"),
        (datetime(2026, 1, 31, 9, tzinfo=timezone.utc), "2026-01-31T09:00:00+00:00"),
    ],
)
def test_run_at_is_sent_as_rfc3339_with_offset(value, sent):
    request = InferenceShHook.build_run_request("a/b@v1", {}, run_at=value)
    assert request.json_body["run_at"] == sent


def test_edges_schedule_is_checked_before_any_call(no_http):
    for kwargs, message in [
        ({"schedule_at": "next week"}, "schedule_at 'next week' is not an ISO 8601 date-time"),
        ({"cron": "0 3 * *"}, "5-field cron"),
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
    ]:
        op = EdgesActionOperator(task_id="t", action="a", mode="schedule", inputs=[{"x": 1}], **kwargs)
        with pytest.raises(AirflowFailException, match=message):
            op.execute(make_context())
    assert no_http.calls == []


# -- errors no retry can fix ------------------------------------------------------------------------
def test_auth_and_bad_request_errors_fail_without_retry():
    from airflow_provider_runs.validation import fail_without_retry

    auth = AuthError(
        "edges API call failed with HTTP 401",
        service="edges",
        method="GET",
        path="/runs/x",
        status_code=401,
        remote_message="bad key",
        run_url="https://runs/x",
    )
    with pytest.raises(AuthError) as err, fail_without_retry():
        raise auth
    assert isinstance(err.value, AirflowFailException)
    assert str(err.value) == str(auth) and "bad key" in str(err.value) and "https://runs/x" in str(err.value)
    assert err.value.status_code == 401
    assert pickle.loads(pickle.dumps(err.value)).status_code == 401
    for status in (400, 413, 422):
        with pytest.raises(AirflowFailException), fail_without_retry():
            raise BadRequestError("refused", status_code=status)
    for exc in (BadRequestError("payment", status_code=402), TransientError("HTTP 503", status_code=503)):
        with pytest.raises(type(exc)) as err, fail_without_retry():
            raise exc
        assert err.value is exc and not isinstance(err.value, AirflowFailException)


def test_operator_fails_without_retry_on_401(monkeypatch):
    def refuse(self, context):
        raise AuthError("inference_sh API call failed with HTTP 401", status_code=401)

    monkeypatch.setattr(InferenceShTaskOperator, "submit", refuse)
    op = InferenceShTaskOperator(task_id="t", app="a/b@v1", input={})
    with pytest.raises(AuthError, match="HTTP 401") as err:
        op.execute(make_context())
    assert isinstance(err.value, AirflowFailException)


def test_sensor_fails_without_retry_on_401(monkeypatch):
    def refuse(self, run_id):
        raise AuthError("edges API call failed with HTTP 401", status_code=401)

    monkeypatch.setattr(EdgesHook, "get_status", refuse)
    sensor = EdgesRunSensor(task_id="s", run_id="r1")
    with pytest.raises(RunFailedError, match="HTTP 401") as err:
        sensor.poke(make_context())
    assert isinstance(err.value, AirflowFailException)


def test_error_event_marked_not_retryable_fails_without_retry(monkeypatch):
    monkeypatch.setattr(InferenceShHook, "run_url", lambda self, run_id: f"https://runs/{run_id}")
    op = InferenceShTaskOperator(task_id="t", app="a/b@v1", input={})
    event = {"event": "error", "run_id": "r1", "message": "Polling run r1 failed: HTTP 401"}
    with pytest.raises(RunFailedError) as err:
        op.status_from_event(event)
    assert not isinstance(err.value, AirflowFailException)
    with pytest.raises(RunFailedError, match=r"HTTP 401.*https://runs/r1") as err:
        op.status_from_event({**event, "retryable": False})
    assert isinstance(err.value, AirflowFailException)


def test_status_events_still_map_normally(monkeypatch):
    monkeypatch.setattr(InferenceShHook, "run_url", lambda self, run_id: f"https://runs/{run_id}")
    op = InferenceShTaskOperator(task_id="t", app="a/b@v1", input={})
    status = RunStatus(RunState.FAILED, "failed", "boom", {})
    run_id, got = op.status_from_event({"event": "status", "run_id": "r1", "status": status.to_dict()})
    assert run_id == "r1" and got.state is RunState.FAILED


def test_too_many_inputs_fails_without_retry():
    from airflow_provider_runs.hooks.edges import InputsTooManyError

    assert issubclass(InputsTooManyError, AirflowFailException) and issubclass(InputsTooManyError, ValueError)


def test_run_urls_encode_the_id():
    hook = InferenceShHook()
    assert hook.default_run_url("https://api", "a?b") == "https://app.inference.sh/tasks/a%3Fb"
    assert EdgesHook().default_run_url("https://api", "a#b") == "https://app.edges.run/runs/a%23b"
