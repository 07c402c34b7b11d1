"""Bad input gets a clear error naming the argument (before any HTTP call) or quoting the service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_provider_runs.core.errors import AuthError, BadRequestError, GoneError, NotFoundError
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

from support import make_context


def build(**kwargs):
    defaults = {"task_id": "t", "app": "acme/echo@v1", "input": {"text": "hi"}, "poll_interval": 0.05}
    return InferenceShTaskOperator(**{**defaults, **kwargs})


def requests_sent(emulator) -> int:
    return sum(emulator.control.counters()["inference_sh"]["requests"].values())


LOCAL_CASES = [
    pytest.param({"app": None}, "app is required", id="missing-app"),
    pytest.param({"app": "echo"}, "app 'echo' is not a valid app reference", id="malformed-app"),
    pytest.param({"input": ["a", "b"]}, "input must be a JSON object", id="input-list"),
    pytest.param({"input": "not json"}, "input must be a JSON object", id="input-text"),
    pytest.param(
        {"session": "new", "session_timeout": 0}, "session_timeout must be between 1 and 3600", id="timeout-0"
    ),
    pytest.param({"session": "new", "session_timeout": 7200}, "between 1 and 3600", id="timeout-7200"),
    pytest.param({"session_timeout": 30}, 'only valid with session="new"', id="timeout-without-new-session"),
    pytest.param({"infra": "gpu-farm"}, "infra must be one of cloud, private, private_first", id="bad-infra"),
    pytest.param({"webhook": "hooks.example.com/x"}, "webhook must be an http(s) URL", id="bad-webhook"),
    pytest.param({"workers": "worker-1"}, "workers must be a list", id="workers-string"),
    pytest.param({"setup": ["x"]}, "setup must be a JSON object", id="setup-list"),
    pytest.param(
        {"session": "sess id"}, "session must be 'new' or an existing session id", id="bad-session-id"
    ),
]


@pytest.mark.parametrize(("override", "message"), LOCAL_CASES)
def test_local_errors_before_any_http_call(emulator, override, message):
    op = build(**override)
    with pytest.raises(ValueError, match=_escape(message)):
        op.execute(make_context())
    assert requests_sent(emulator) == 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"poll_interval": 0}, "poll_interval must be a positive number"),
        ({"poll_interval": -5}, "poll_interval must be a positive number"),
        ({"timeout": timedelta(0)}, "timeout must be a positive number"),
        ({"max_consecutive_failures": 0}, "max_consecutive_failures must be a positive integer"),
        ({"status_numbering": "2025"}, "status_numbering must be one of"),
    ],
)
def test_constructor_errors(override, message):
    with pytest.raises(ValueError, match=message):
        build(**override)


def test_unknown_connection(emulator):
    with pytest.raises(Exception, match="no_such_conn"):
        build(inference_sh_conn_id="no_such_conn").execute(make_context())


def test_wrong_key_is_401(emulator):
    with pytest.raises(AuthError) as err:
        build(inference_sh_conn_id="inference_sh_wrong_key").execute(make_context())
    assert err.value.status_code == 401 and "unauthorized" in str(err.value)


def test_unknown_app_is_404(emulator):
    with pytest.raises(NotFoundError) as err:
        build(app="acme/missing@v1").execute(make_context())
    assert err.value.status_code == 404 and err.value.code == "not_found"


def test_input_not_matching_the_app_schema_is_422(emulator):
    with pytest.raises(BadRequestError) as err:
        build(input={"wrong": 1}).execute(make_context())
    assert err.value.status_code == 422 and err.value.code == "validation_error"


def test_unknown_session_is_404(emulator):
    with pytest.raises(NotFoundError) as err:
        build(app="acme/counter@v1", input={"label": "x"}, session="sess_nope").execute(make_context())
    assert err.value.code == "SESSION_NOT_FOUND"


def test_expired_session_is_410(emulator):
    first = build(
        app="acme/counter@v1", input={"label": "a"}, session="new", session_timeout=5, deferrable=False
    )
    manifest = first.execute(make_context())
    emulator.control.advance(60)
    with pytest.raises(GoneError) as err:
        build(app="acme/counter@v1", input={"label": "b"}, session=manifest["session_id"]).execute(
            make_context()
        )
    assert err.value.status_code == 410 and "SESSION_EXPIRED" in str(err.value)


def _escape(text: str) -> str:
    import re

    return re.escape(text)
