"""inference.sh hook logic that needs no server: envelopes, error bodies, local validation."""

from __future__ import annotations

import pytest

from airflow_provider_runs.core.errors import RunsApiError
from airflow_provider_runs.hooks.inference_sh import InferenceShHook, parse_error_body, unwrap


def test_unwrap_generations():
    assert unwrap({"success": True, "status": 200, "data": {"id": "t"}}) == {"id": "t"}
    assert unwrap({"data": {"id": "t"}, "messages": []}) == {"id": "t"}
    assert unwrap({"data": {"id": "t"}}) == {"id": "t"}
    assert unwrap({"id": "t", "data": 1}) == {"id": "t", "data": 1}  # a DTO with a data field
    assert unwrap([1, 2]) == [1, 2]
    with pytest.raises(RunsApiError, match="nope"):
        unwrap({"success": False, "status": 400, "error": {"code": "invalid_request", "message": "nope"}})


def test_error_bodies():
    problem = {
        "type": "https://api.inference.sh/errors/SESSION_EXPIRED",
        "title": "Gone",
        "status": 410,
        "detail": "session expired",
    }
    assert parse_error_body(410, problem, "") == ("session expired", "SESSION_EXPIRED")
    assert parse_error_body(400, {"success": False, "error": {"code": "c", "message": "m"}}, "") == ("m", "c")
    req = {"errors": [{"type": "secret", "key": "OPENAI_API_KEY", "message": "missing secret"}]}
    assert parse_error_body(412, req, "") == ("OPENAI_API_KEY: missing secret", "requirements_not_met")
    assert parse_error_body(451, None, "Unavailable For Legal Reasons") == (
        "Unavailable For Legal Reasons",
        None,
    )
    assert parse_error_body(403, {"message": "Access denied"}, "") == ("Access denied", None)


BAD_REQUESTS = [
    ({"app": None}, "app is required"),
    ({"app": "not a ref"}, "app 'not a ref' is not a valid app reference"),
    ({"app": "acme/echo@v1 extra"}, "not a valid app reference"),
    ({"input": "text"}, "input must be a JSON object"),
    ({"input": ["a"]}, "input must be a JSON object"),
    ({"setup": "x"}, "setup must be a JSON object"),
    ({"infra": "mars"}, "infra must be one of"),
    ({"workers": "w1"}, "workers must be a list"),
    ({"webhook": "ftp://x"}, "webhook must be an http"),
    ({"webhook": "not a url"}, "webhook must be an http"),
    ({"session": "bad id!"}, "session must be 'new' or an existing session id"),
    ({"session": "new", "session_timeout": 0}, "session_timeout must be between 1 and 3600"),
    ({"session": "new", "session_timeout": 3601}, "session_timeout must be between 1 and 3600"),
    ({"session": "new", "session_timeout": "60"}, "session_timeout must be an integer"),
    ({"session_timeout": 60}, 'session_timeout is only valid with session="new"'),
    ({"session": "sess_1", "session_timeout": 60}, 'session_timeout is only valid with session="new"'),
    ({"function": "1bad"}, "function '1bad' is not a valid function name"),
    ({"metadata": []}, "metadata must be a JSON object"),
]


@pytest.mark.parametrize(("override", "message"), BAD_REQUESTS)
def test_bad_requests_fail_before_any_call(override, message):
    kwargs = {"app": "acme/echo@v1", "input": {"text": "hi"}, **override}
    app, input_ = kwargs.pop("app"), kwargs.pop("input")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        InferenceShHook.build_run_request(app, input_, **kwargs)


def test_good_request_body():
    req = InferenceShHook.build_run_request(
        "acme/echo@v1", {"text": "hi"}, session="new", session_timeout=120, infra="private", workers=["w1"]
    )
    assert req.method == "POST" and req.path == "/run" and req.idempotent is False
    assert req.params == {"wait": False}
    assert req.json_body == {
        "input": {"text": "hi"},
        "wait": False,
        "app": "acme/echo@v1",
        "session": "new",
        "session_timeout": 120,
        "infra": "private",
        "workers": ["w1"],
    }


def test_bad_status_numbering():
    with pytest.raises(ValueError, match="status_numbering"):
        InferenceShHook(status_numbering="newest")
