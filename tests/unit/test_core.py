"""Pure logic of the core: errors, redaction, retry timing, the waiter."""

from __future__ import annotations

import pickle
import time

import pytest

from airflow_provider_runs.core.errors import (
    AuthError,
    BadRequestError,
    ConflictError,
    GoneError,
    NotFoundError,
    RateLimitedError,
    RunsApiError,
    TransientError,
    error_class_for_status,
)
from airflow_provider_runs.core.http import default_error_parser, encode_params
from airflow_provider_runs.core.redaction import Redactor
from airflow_provider_runs.core.retry import RetryPolicy, parse_retry_after
from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.waiting.waiter import EVENT_ERROR, EVENT_STATUS, EVENT_TIMEOUT, RunWaiter


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthError),
        (402, BadRequestError),
        (403, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, GoneError),
        (412, BadRequestError),
        (422, BadRequestError),
        (429, RateLimitedError),
        (500, TransientError),
        (502, TransientError),
        (503, TransientError),
    ],
)
def test_error_classes(status, cls):
    assert error_class_for_status(status) is cls


def test_error_text_names_everything_and_pickles():
    err = NotFoundError(
        "call failed",
        service="inference_sh",
        method="GET",
        path="/tasks/x",
        status_code=404,
        remote_message="task not found",
        code="not_found",
        run_url="http://h/tasks/x",
    )
    text = str(err)
    for part in ("inference_sh", "GET /tasks/x", "404", "not_found", "task not found", "http://h/tasks/x"):
        assert part in text
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is NotFoundError and str(again) == text


def test_with_run_url_updates_text():
    err = RunsApiError("x", service="s").with_run_url("http://run")
    assert "http://run" in str(err)


def test_redactor():
    redact = Redactor(["inf_secret_key_123", None, "", "abc"])
    assert redact("Bearer inf_secret_key_123 here") == "Bearer *** here"
    assert redact("abc stays") == "abc stays"  # too short to hide safely
    assert "inf_secret_key_123" not in repr(redact)


def test_retry_after_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 30))
    assert 25 <= parse_retry_after(http_date, now=now) <= 31


def test_backoff_honours_retry_after_and_caps():
    policy = RetryPolicy(initial_backoff=1, max_backoff=4)
    assert policy.backoff(1, retry_after=7) == 7
    assert all(0 <= policy.backoff(10) <= 4 for _ in range(50))


def test_default_error_parser_shapes():
    assert default_error_parser(400, {"error": {"message": "m", "code": "c"}}, "") == ("m", "c")
    assert default_error_parser(400, {"detail": "d", "code": "c"}, "") == ("d", "c")
    assert default_error_parser(502, None, "<html>bad gateway</html>") == ("<html>bad gateway</html>", None)
    assert default_error_parser(502, None, "") == (None, None)


def test_encode_params():
    assert encode_params({"a": True, "b": None, "c": 3}) == [("a", "true"), ("c", "3")]
    assert encode_params([("s", "x"), ("s", "y")]) == [("s", "x"), ("s", "y")]


def test_run_status_roundtrip():
    status = RunStatus(RunState.FAILED, 11, "boom", {"status_name": "failed"})
    assert RunStatus.from_dict(status.to_dict()) == status


class TestWaiter:
    def make(self, **kwargs):
        defaults = {"poll_interval": 1.0, "deadline": None, "max_consecutive_failures": 3}
        return RunWaiter("r1", **{**defaults, **kwargs})

    def test_terminal_ends_with_status_event(self):
        step = self.make().on_status(RunStatus(RunState.SUCCEEDED, 10))
        assert step.event["event"] == EVENT_STATUS and step.event["status"]["state"] == "SUCCEEDED"

    def test_running_sleeps_poll_interval(self):
        assert self.make().on_status(RunStatus(RunState.RUNNING, 7)).sleep == 1.0

    def test_stop_on_states(self):
        waiter = self.make(stop_on_states=(RunState.NEEDS_ACTION,))
        assert waiter.on_status(RunStatus(RunState.NEEDS_ACTION, "paused")).event is not None

    def test_unknown_warns_once(self, caplog):
        waiter = self.make()
        for _ in range(3):
            assert waiter.on_status(RunStatus(RunState.UNKNOWN, 42)).event is None
        assert sum("does not know" in r.message for r in caplog.records) == 1

    def test_transient_errors_up_to_cap(self):
        waiter = self.make()
        assert waiter.on_error(TransientError("x")).event is None
        assert waiter.on_error(RateLimitedError("x", retry_after=2)).sleep == 2  # backpressure: not counted
        assert waiter.on_error(TransientError("y", retry_after=2)).sleep == 2
        step = waiter.on_error(TransientError("last"))
        assert step.event["event"] == EVENT_ERROR and "3 times in a row" in step.event["message"]

    def test_success_resets_failure_count(self):
        waiter = self.make()
        waiter.on_error(TransientError("x"))
        waiter.on_error(TransientError("x"))
        waiter.on_status(RunStatus(RunState.RUNNING, 7))
        assert waiter.on_error(TransientError("x")).event is None

    @pytest.mark.parametrize("exc", [AuthError("no"), NotFoundError("gone"), ValueError("weird")])
    def test_permanent_errors_end_at_once(self, exc):
        assert self.make().on_error(exc).event["event"] == EVENT_ERROR

    def test_deadline(self):
        waiter = self.make(deadline=time.time() - 1)
        waiter.last = RunStatus(RunState.RUNNING, 9, details={"note": "legacy hint"})
        event = waiter.check_deadline()
        assert event["event"] == EVENT_TIMEOUT and "legacy hint" in event["message"]

    def test_sleep_is_clipped_to_deadline(self):
        waiter = self.make(poll_interval=100, deadline=time.time() + 0.5)
        assert waiter.on_status(RunStatus(RunState.RUNNING, 7)).sleep <= 0.5
