"""inference.sh day-two operators against the emulator: cancel a task, end a session.

Each action is checked on its first try and on a retry after it took effect (a no-op that
succeeds), and bad input fails before any HTTP request.
"""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.operators.inference_sh_actions import (
    InferenceShCancelTaskOperator,
    InferenceShEndSessionOperator,
)
from airflow_provider_runs.validation import InvalidArgumentError

from support import make_context, run_deferrable

PATHS = ["deferrable", "worker"]


def requests_sent(emulator) -> int:
    return sum(emulator.control.counters()["inference_sh"]["requests"].values())


def start_task(**scenario):
    scenario = {"outcome": "stuck", **scenario}
    return InferenceShHook().run_task("acme/echo@v1", {"text": "x", "_emulator": scenario})["id"]


def cancel(run_id, **kwargs):
    return InferenceShCancelTaskOperator(task_id="cancel", run_id=run_id, poll_interval=0.05, **kwargs)


def test_cancel_a_running_task(emulator):
    run_id = start_task()
    context = make_context()
    manifest = cancel(run_id).execute(context)
    assert manifest["outcome"] == "cancelled" and manifest["cancelled"] is True
    assert manifest["url"].endswith(run_id) and context["ti"].xcoms["run_url"] == manifest["url"]
    assert context["ti"].xcoms["run_id"] == run_id
    assert manifest["status"] in ("cancelling", "cancelled")  # cancel goes via 8 to 12 (spec §4.1)
    assert emulator.control.counters()["inference_sh"]["cancels"] == 1


def test_a_retry_after_the_cancel_is_a_no_op(emulator, capfd):
    run_id = start_task()
    cancel(run_id).execute(make_context())
    manifest = cancel(run_id).execute(make_context(try_number=2))
    assert manifest["outcome"] == "already_cancelled" and manifest["cancelled"] is True
    assert emulator.control.counters()["inference_sh"]["cancels"] == 1
    assert "is already" in capfd.readouterr().out


def test_a_task_that_completed_first_is_reported_not_failed(emulator):
    run_id = start_task(outcome="completed", duration=0.0)
    manifest = cancel(run_id).execute(make_context())
    assert manifest["outcome"] == "already_completed" and manifest["cancelled"] is False
    assert manifest["state"] == "SUCCEEDED"
    assert emulator.control.counters()["inference_sh"].get("cancels", 0) == 0


def test_fail_if_completed(emulator):
    run_id = start_task(outcome="completed", duration=0.0)
    with pytest.raises(AirflowFailException, match="already completed before the cancel"):
        cancel(run_id, fail_if_completed=True).execute(make_context())


def test_a_failed_task_is_already_ended(emulator):
    run_id = start_task(outcome="failed", duration=0.0, error="boom")
    assert cancel(run_id).execute(make_context())["outcome"] == "already_ended"


@pytest.mark.parametrize("path", PATHS)
def test_cancel_and_wait_until_cancelled(emulator, path):
    run_id = start_task()
    op = cancel(run_id, wait_for_completion=True, timeout=30, deferrable=path == "deferrable")
    context = make_context()
    manifest = run_deferrable(op, context) if op.deferrable else op.execute(context)
    assert manifest["state"] == "CANCELLED" and manifest["cancelled"] is True


def test_unknown_task_fails_naming_run_id(emulator):
    with pytest.raises(AirflowFailException, match="run_id 'task_nope'"):
        cancel("task_nope").execute(make_context())


@pytest.mark.parametrize("bad", ["", "a/b", "..", None])
def test_bad_run_id_fails_before_any_request(emulator, bad):
    before = requests_sent(emulator)
    with pytest.raises(InvalidArgumentError, match="run_id"):
        cancel(bad).execute(make_context())
    assert requests_sent(emulator) == before


def test_bad_graceful_timeout_is_refused_at_parse():
    with pytest.raises(ValueError, match="graceful_timeout_ms"):
        cancel("task_1", graceful_timeout_ms=-5)


# -- sessions ----------------------------------------------------------------------------------
def open_session() -> str:
    task = InferenceShHook().run_task("acme/echo@v1", {"text": "s"}, session="new", session_timeout=600)
    return task["session_id"]


def end(session_id, **kwargs):
    return InferenceShEndSessionOperator(task_id="end", session_id=session_id, **kwargs)


def test_end_a_session(emulator):
    session_id = open_session()
    context = make_context()
    manifest = end(session_id).execute(context)
    assert manifest["outcome"] == "ended" and manifest["status"] == "ended"
    assert InferenceShHook().get_session(session_id)["status"] == "ended"
    assert manifest["run_id"] and context["ti"].xcoms["run_url"].endswith(manifest["run_id"])


def test_ending_an_ended_session_is_success(emulator, capfd):
    session_id = open_session()
    end(session_id).execute(make_context())
    deletes_before = emulator.control.counters()["inference_sh"]["requests"].get(
        "DELETE /sessions/{session_id}"
    )
    manifest = end(session_id).execute(make_context(try_number=2))
    assert manifest["outcome"] == "already_ended"
    after = emulator.control.counters()["inference_sh"]["requests"].get("DELETE /sessions/{session_id}")
    assert after == deletes_before == 1
    assert "already ended" in capfd.readouterr().out


def test_unknown_session_fails_naming_session_id(emulator):
    with pytest.raises(AirflowFailException, match="session_id 'sess_nope'"):
        end("sess_nope").execute(make_context())


@pytest.mark.parametrize("bad", ["", "new", "x/y"])
def test_bad_session_id_fails_before_any_request(emulator, bad):
    before = requests_sent(emulator)
    with pytest.raises(InvalidArgumentError, match="session_id"):
        end(bad).execute(make_context())
    assert requests_sent(emulator) == before


def test_templated_fields():
    assert set(InferenceShCancelTaskOperator.template_fields) == {"run_id", "inference_sh_conn_id"}
    assert set(InferenceShEndSessionOperator.template_fields) == {"session_id", "inference_sh_conn_id"}
