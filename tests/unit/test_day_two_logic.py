"""The day-two operators' logic without HTTP: message ids, the listing loop, stale statuses."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.inferable_messages import MESSAGE_ID_LENGTH, new_message_id
from airflow_provider_runs.operators.inferable_message import InferableSendMessageOperator
from airflow_provider_runs.operators.listing import BaseListRunsOperator, as_list
from airflow_provider_runs.validation import InvalidArgumentError

from support import make_context


# -- message ids -------------------------------------------------------------------------------------
def test_message_ids_are_ulids_that_sort_by_time():
    first = new_message_id(now=1_700_000_000.000, randomness=b"\xff" * 10)
    later = new_message_id(now=1_700_000_000.001, randomness=b"\x00" * 10)
    assert len(first) == len(later) == MESSAGE_ID_LENGTH and first.isalnum() and first.isupper()
    assert later > first  # the time comes first: a new message never sorts among older ones


def test_message_ids_differ():
    assert len({new_message_id() for _ in range(1000)}) == 1000


# -- the listing loop --------------------------------------------------------------------------------
class FakeHook:
    service = "fake"


class ListOperator(BaseListRunsOperator):
    """A listing over a fixed list of runs, newest first (pages as the test gives them)."""

    hook_class = FakeHook  # type: ignore[assignment]
    conn_id_field = "fake_conn_id"
    statuses_filtered_by_service = False

    def __init__(self, *, runs: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(task_id="ls", **kwargs)
        self.fake_conn_id = "fake_default"
        self.runs = runs
        self.read = 0

    def known_statuses(self):
        return ("ok", "bad")

    def iter_runs(self, statuses):
        for run in self.runs:
            self.read += 1
            yield run

    def row(self, item):
        return {"run_id": item["id"], "status": item["status"], "state": "X"}


def runs(n: int, status: str = "ok") -> list[dict[str, Any]]:
    return [
        {"id": f"r{i}", "status": status, "created_at": f"2026-01-01T00:{59 - i:02d}:00Z"} for i in range(n)
    ]


def test_the_limit_stops_reading():
    op = ListOperator(runs=runs(50), limit=5)
    assert [r["run_id"] for r in op.execute(make_context())] == ["r0", "r1", "r2", "r3", "r4"]
    assert op.read == 5


def test_created_after_stops_at_the_first_older_run():
    op = ListOperator(runs=runs(50), created_after="2026-01-01T00:55:00+00:00", ids_only=True)
    assert op.execute(make_context()) == ["r0", "r1", "r2", "r3", "r4"]
    assert op.read == 6  # the first older run ends the listing: no further page is read


def test_duplicates_from_shifting_pages_are_dropped():
    listed = runs(3)
    op = ListOperator(runs=[listed[0], listed[1], listed[1], listed[2]], ids_only=True)
    assert op.execute(make_context()) == ["r0", "r1", "r2"]


def test_statuses_filtered_here_when_the_api_cannot():
    bad = [{**run, "id": f"b{i}"} for i, run in enumerate(runs(2, "bad"))]
    op = ListOperator(runs=runs(2) + bad, statuses="bad")
    assert [r["status"] for r in op.execute(make_context())] == ["bad", "bad"]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"statuses": ["nope"]}, "statuses"),
        ({"statuses": 3}, "statuses"),
        ({"created_after": "soon"}, "created_after"),
    ],
)
def test_bad_filters_fail_before_reading(kwargs, named):
    op = ListOperator(runs=runs(3), **kwargs)
    with pytest.raises(InvalidArgumentError, match=named):
        op.execute(make_context())
    assert op.read == 0


def test_as_list():
    assert as_list(None, "x") == [] and as_list("a", "x") == ["a"] and as_list(("a", "b"), "x") == ["a", "b"]
    with pytest.raises(ValueError, match="x must be"):
        as_list(["a", ""], "x")


# -- a final status from before the message ------------------------------------------------------
class MessagesHook:
    def __init__(self, newer: list[dict[str, Any]]) -> None:
        self.newer = newer
        self.asked: list[Any] = []

    def newest_messages(self, run_id, after=None):
        self.asked.append(after)
        return self.newer


def stale(newer, state=RunState.SUCCEEDED) -> tuple[bool, list[Any]]:
    op = InferableSendMessageOperator(task_id="say", run_id="r", message="hi")
    hook = MessagesHook(newer)
    op.__dict__["hook"] = hook
    result = op.is_stale("r", RunStatus(state, "done"), {"message_id": "M1"})
    return result, hook.asked


def test_done_without_an_agent_message_after_ours_is_stale():
    assert stale([]) == (True, ["M1"])
    assert stale([{"id": "M2", "type": "human"}])[0] is True


def test_done_with_an_agent_message_after_ours_is_the_answer():
    assert stale([{"id": "M2", "type": "agent"}])[0] is False


def test_a_pause_is_never_stale():
    assert stale([], RunState.NEEDS_ACTION) == (False, [])
