"""Inferable day-two operators against the emulator: answer an approval, send a message.

Each is checked on its first try, on a retry after it took effect (nothing sent twice), and with
bad input (fails before any HTTP request, naming the argument).
"""

from __future__ import annotations

import time

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_runs.core.errors import AmbiguousWriteError
from airflow_provider_runs.hooks.inferable import InferableHook
from airflow_provider_runs.operators.inferable_actions import InferableApprovalOperator
from airflow_provider_runs.operators.inferable_message import (
    MESSAGE_RECORD_KEY,
    InferableSendMessageOperator,
)
from airflow_provider_runs.testing.emulator.inferable_api import DEFAULT_CLUSTER
from airflow_provider_runs.validation import InvalidArgumentError

from support import FakeStateStore, make_context, run_deferrable

KEY = "sk_inf_actions_key_00000000000000000000000000"
PATHS = ["deferrable", "worker"]
STEP = 0.1


@pytest.fixture(scope="module")
def inferable_server(emulator_factory):
    return emulator_factory(inferable_clusters={DEFAULT_CLUSTER: [KEY]}, inferable_step_seconds=STEP)


@pytest.fixture
def emu(inferable_server, monkeypatch):
    server = inferable_server
    yield from server.fresh(
        monkeypatch, inferable_default=server.connection("inferable", KEY, cluster_id=DEFAULT_CLUSTER)
    )


def counters(emu):
    return emu.control.counters()["inferable"]


def requests_sent(emu) -> int:
    return sum(counters(emu)["requests"].values())


def start_run(run_id: str, **scenario) -> str:
    body = {"initial_prompt": "Help the customer", "run_id": run_id, "interactive": True}
    if "approval" in scenario:
        body["tools"] = [scenario["approval"]["tool"]]
    InferableHook().create_run(**body, context={"_emulator": scenario})
    return run_id


def wait_for(run_id: str, status: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while InferableHook().get_run(run_id)["status"] != status:
        assert time.monotonic() < deadline, f"run {run_id} never became {status}"
        time.sleep(STEP / 2)


def paused_on(tool: str, run_id: str = "run-approval-1") -> str:
    start_run(run_id, approval={"tool": tool, "input": {"to": "x@example.com"}})
    wait_for(run_id, "paused")
    while not InferableHook().run_approvals(run_id):
        time.sleep(STEP / 2)
    return run_id


def approval(run_id, tool="send_email", **kwargs):
    return InferableApprovalOperator(
        task_id="approve", run_id=run_id, tool=tool, poll_interval=0.05, **kwargs
    )


# -- approvals ---------------------------------------------------------------------------------
@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_answer_the_pending_approval(emu, decision):
    run_id = paused_on("send_email")
    context = make_context()
    manifest = approval(run_id, decision=decision).execute(context)
    approved = decision == "approve"
    assert manifest["approved"] is approved and manifest["outcome"] == ("approved" if approved else "denied")
    assert manifest["url"].endswith(run_id) and context["ti"].xcoms["run_url"] == manifest["url"]
    assert counters(emu)["approvals"] == 1
    kind = "approvalGranted" if approved else "approvalDenied"
    assert InferableHook().list_events(run_id=run_id, type=kind)


def test_a_retry_after_the_approval_is_a_no_op(emu):
    run_id = paused_on("send_email")
    approval(run_id).execute(make_context())
    posts = counters(emu)["requests"].get("POST /clusters/{cluster}/jobs/{job}/approval")
    manifest = approval(run_id).execute(make_context(try_number=2))
    assert manifest["outcome"] == "already_approved"
    assert counters(emu)["requests"].get("POST /clusters/{cluster}/jobs/{job}/approval") == posts == 1


def test_answered_the_other_way_fails(emu):
    run_id = paused_on("send_email")
    approval(run_id, decision="deny").execute(make_context())
    with pytest.raises(AirflowFailException, match="already answered denied"):
        approval(run_id, decision="approve").execute(make_context())


def test_no_pending_approval_for_that_tool_names_the_tool(emu):
    run_id = paused_on("send_email")
    with pytest.raises(AirflowFailException, match=r"tool 'delete_account'.*approvals wait for: send_email"):
        approval(run_id, tool="delete_account").execute(make_context())
    assert counters(emu).get("approvals", 0) == 0


def test_nothing_waits_yet_is_retryable(emu):
    run_id = start_run("run-stuck-1", outcome="stuck")
    wait_for(run_id, "running")
    with pytest.raises(AirflowException, match="no pending approval") as raised:
        approval(run_id).execute(make_context())
    assert not isinstance(raised.value, AirflowFailException)


def test_unknown_run_fails_naming_run_id(emu):
    with pytest.raises(AirflowFailException, match="run_id 'no-such-run'"):
        approval("no-such-run").execute(make_context())


@pytest.mark.parametrize("path", PATHS)
def test_approve_and_wait_for_the_run(emu, path):
    run_id = paused_on("send_email", run_id=f"run-wait-{path}")
    op = approval(run_id, wait_for_completion=True, timeout=30, deferrable=path == "deferrable")
    context = make_context()
    manifest = run_deferrable(op, context) if op.deferrable else op.execute(context)
    assert manifest["state"] == "SUCCEEDED" and manifest["status"] == "done" and manifest["result"]


@pytest.mark.parametrize("path", PATHS)
def test_wait_for_the_request_then_answer(emu, path):
    """The approval task starts before the run asks: it waits (deferred or here), then answers."""
    run_id = start_run(f"run-early-{path}", approval={"tool": "send_email", "input": {}})
    op = approval(run_id, wait_for_request=True, timeout=30, deferrable=path == "deferrable")
    context = make_context()
    manifest = run_deferrable(op, context) if op.deferrable else op.execute(context)
    assert manifest["outcome"] == "approved" and counters(emu)["approvals"] == 1


def test_wait_for_request_on_an_ended_run_fails_naming_the_tool(emu):
    run_id = done_run("run-ended-1")
    with pytest.raises(AirflowFailException, match="tool 'send_email'"):
        approval(run_id, wait_for_request=True, timeout=5).execute(make_context())


def test_send_message_is_importable_from_the_actions_module():
    from airflow_provider_runs.operators import inferable_actions

    assert inferable_actions.InferableSendMessageOperator is InferableSendMessageOperator


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"run_id": "a/b"}, "run_id"),
        ({"run_id": ""}, "run_id"),
        ({"tool": " "}, "tool"),
        ({"decision": "maybe"}, "decision"),
        ({"job_id": ".."}, "job_id"),
    ],
)
def test_approval_bad_input_fails_before_any_request(emu, kwargs, named):
    before = requests_sent(emu)
    op = InferableApprovalOperator(task_id="a", **{"run_id": "r-1", "tool": "send_email", **kwargs})
    with pytest.raises(InvalidArgumentError, match=named):
        op.execute(make_context())
    assert requests_sent(emu) == before


# -- messages ----------------------------------------------------------------------------------
def message(run_id, text="Also check the invoices", **kwargs):
    return InferableSendMessageOperator(
        task_id="say", run_id=run_id, message=text, poll_interval=0.05, **kwargs
    )


def human_messages(run_id, text):
    return [
        m
        for m in InferableHook().newest_messages(run_id)
        if m["type"] == "human" and m["data"]["message"] == text
    ]


def done_run(run_id="run-chat-1"):
    start_run(run_id)
    wait_for(run_id, "done")
    return run_id


def test_send_a_message(emu):
    run_id = done_run()
    context = make_context(store=FakeStateStore())
    manifest = message(run_id).execute(context)
    assert manifest["outcome"] == "sent" and len(manifest["message_id"]) == 26
    assert [m["id"] for m in human_messages(run_id, "Also check the invoices")] == [manifest["message_id"]]
    assert context["ti"].xcoms["run_url"].endswith(run_id)


def test_a_retry_does_not_send_the_message_twice(emu):
    """The first try sent the message, then failed (e.g. in its wait): the retry sends nothing."""
    run_id = done_run()
    store = FakeStateStore()
    first = message(run_id).execute(make_context(store=store))
    store.data[MESSAGE_RECORD_KEY]["completed"] = False  # the try did not succeed after all
    second = message(run_id).execute(make_context(try_number=2, store=store))
    assert second["outcome"] == "already_sent" and second["message_id"] == first["message_id"]
    assert counters(emu)["messages_added"] == 1


def test_a_retry_after_a_crash_before_the_record_finds_the_message(emu):
    """The worker died between the send and the record of it: the retry finds the message by id."""
    run_id = done_run()
    store = FakeStateStore()
    message(run_id).execute(make_context(store=store))
    store.data[MESSAGE_RECORD_KEY].update(sent=False, completed=False)  # the try died right after the POST
    second = message(run_id).execute(make_context(try_number=2, store=store))
    assert second["outcome"] == "already_sent" and counters(emu)["messages_added"] == 1


def test_a_send_that_never_arrived_is_sent_again_with_the_same_id(emu):
    run_id = done_run()
    store = FakeStateStore()
    store.set(
        MESSAGE_RECORD_KEY, {"run_id": run_id, "message_id": "01JAAAAAAAAAAAAAAAAAAAAAAA", "sent": False}
    )
    manifest = message(run_id).execute(make_context(try_number=2, store=store))
    assert manifest == {**manifest, "outcome": "sent", "message_id": "01JAAAAAAAAAAAAAAAAAAAAAAA"}
    assert counters(emu)["messages_added"] == 1


def test_without_a_state_store_a_retry_finds_the_message_by_text(emu):
    run_id = done_run()
    message(run_id).execute(make_context())
    second = message(run_id).execute(make_context(try_number=2))
    assert second["outcome"] == "already_sent" and counters(emu)["messages_added"] == 1


def test_a_cleared_task_sends_again(emu):
    run_id = done_run()
    store = FakeStateStore()
    message(run_id).execute(make_context(store=store))
    wait_for(run_id, "done")
    message(run_id).execute(make_context(try_number=2, store=store))  # the user cleared it
    assert counters(emu)["messages_added"] == 2


def test_ambiguous_send_that_landed_is_not_sent_again(emu, monkeypatch):
    run_id = done_run()
    hook_cls = InferableHook
    real = hook_cls.add_message

    def lands_then_fails(self):
        def call(*args, **kwargs):
            real.__get__(self, hook_cls)(*args, **kwargs)
            raise AmbiguousWriteError("connection reset after sending", service="inferable")

        return call

    monkeypatch.setattr(hook_cls, "add_message", property(lands_then_fails))
    manifest = message(run_id).execute(make_context(store=FakeStateStore()))
    assert manifest["outcome"] == "sent" and counters(emu)["messages_added"] == 1


@pytest.mark.parametrize("path", PATHS)
def test_send_and_wait_for_the_answer(emu, path):
    run_id = done_run(f"run-chat-{path}")
    op = message(run_id, wait_for_completion=True, timeout=30, deferrable=path == "deferrable")
    context = make_context(store=FakeStateStore())
    manifest = run_deferrable(op, context) if op.deferrable else op.execute(context)
    assert manifest["state"] == "SUCCEEDED" and manifest["reply"] and manifest["outcome"] == "sent"


def test_a_running_run_refuses_and_the_task_retries(emu):
    run_id = start_run("run-busy-1", outcome="stuck")
    wait_for(run_id, "running")
    with pytest.raises(AirflowException, match="cannot take a message now") as raised:
        message(run_id).execute(make_context(store=FakeStateStore()))
    assert not isinstance(raised.value, AirflowFailException)


def test_a_non_interactive_run_fails_without_retry(emu):
    InferableHook().create_run(initial_prompt="x", run_id="run-quiet-1", interactive=False)
    wait_for("run-quiet-1", "done")
    with pytest.raises(AirflowFailException, match="not interactive"):
        message("run-quiet-1").execute(make_context(store=FakeStateStore()))


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [({"run_id": "x/y"}, "run_id"), ({"text": "  "}, "message"), ({"text": "x" * 100_001}, "message")],
)
def test_message_bad_input_fails_before_any_request(emu, kwargs, named):
    before = requests_sent(emu)
    args = {"run_id": "r-1", **kwargs}
    with pytest.raises(InvalidArgumentError, match=named):
        message(**args).execute(make_context())
    assert requests_sent(emu) == before


def test_templated_fields():
    assert {"run_id", "tool", "decision", "job_id", "inferable_conn_id", "cluster_id"} <= set(
        InferableApprovalOperator.template_fields
    )
    assert {"run_id", "message", "inferable_conn_id", "cluster_id"} <= set(
        InferableSendMessageOperator.template_fields
    )
