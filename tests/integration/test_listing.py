"""The listing operators against the emulator: bounded, paginated, filtered, newest first, small
primitive rows (or ids) for dynamic task mapping; bad input fails before any request."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.inferable import InferableHook
from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.operators.edges_listing import EdgesListRunsOperator
from airflow_provider_runs.operators.inferable_listing import InferableListRunsOperator
from airflow_provider_runs.operators.inference_sh_listing import InferenceShListTasksOperator
from airflow_provider_runs.testing.emulator.inferable_api import DEFAULT_CLUSTER
from airflow_provider_runs.validation import InvalidArgumentError

from support import TEST_KEY, make_context

EDGES_KEY = "edges_listing_key_0001"
INFERABLE_KEY = "sk_inf_listing_key_000000000000000000000000000"
ACTION = "linkedin-extract-people"


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        inference_sh_api_keys=[TEST_KEY],
        default_task_duration=0.0,
        inference_sh_rate_limit_tier="unlimited",
        edges_api_keys=[EDGES_KEY],
        edges_input_seconds=0.001,
        inferable_clusters={DEFAULT_CLUSTER: [INFERABLE_KEY]},
        inferable_step_seconds=0.01,
    )


@pytest.fixture
def emu(server, monkeypatch):
    yield from server.fresh(
        monkeypatch,
        inference_sh_default=server.connection("inference_sh"),
        edges_default=server.connection("edges", EDGES_KEY, identity_mode="managed"),
        inferable_default=server.connection("inferable", INFERABLE_KEY, cluster_id=DEFAULT_CLUSTER),
    )


def requests_of(emu, service) -> dict:
    return emu.control.counters()[service]["requests"]


def sent(emu, service) -> int:
    return sum(requests_of(emu, service).values())


def primitives_only(rows) -> bool:
    return json.loads(json.dumps(rows)) == rows and all(
        isinstance(v, str | int | float | bool | type(None)) for row in rows for v in row.values()
    )


# -- inference.sh ------------------------------------------------------------------------------
def make_tasks(n: int, outcome: str = "completed") -> list[str]:
    hook = InferenceShHook()
    return [
        hook.run_task("acme/echo@v1", {"text": f"t{i}", "_emulator": {"outcome": outcome}})["id"]
        for i in range(n)
    ]


def test_inference_sh_stops_at_the_limit(emu):
    ids = make_tasks(25)
    rows = InferenceShListTasksOperator(task_id="ls", limit=22).execute(make_context())
    assert [r["run_id"] for r in rows] == list(reversed(ids))[:22]  # newest first
    assert primitives_only(rows) and rows[0]["url"].endswith(rows[0]["run_id"])
    assert requests_of(emu, "inference_sh")["POST /tasks/list"] == 1  # one page of 22


def test_inference_sh_follows_the_cursor(emu):
    ids = make_tasks(130)
    rows = InferenceShListTasksOperator(task_id="ls", limit=120, ids_only=True).execute(make_context())
    assert rows == list(reversed(ids))[:120]
    assert requests_of(emu, "inference_sh")["POST /tasks/list"] == 2  # pages of 100


def test_inference_sh_status_filter_and_ids_only(emu):
    failed = make_tasks(3, "failed")
    make_tasks(4)
    time.sleep(0.05)
    ids = InferenceShListTasksOperator(task_id="ls", statuses=["failed"], ids_only=True).execute(
        make_context()
    )
    assert sorted(ids) == sorted(failed)


def test_inference_sh_created_after(emu):
    make_tasks(3)
    time.sleep(0.05)
    since = datetime.now(timezone.utc).isoformat()
    newer = make_tasks(2)
    ids = InferenceShListTasksOperator(task_id="ls", created_after=since, ids_only=True).execute(
        make_context()
    )
    assert ids == list(reversed(newer))


def test_inference_sh_search(emu):
    hook = InferenceShHook()
    tagged = [hook.run_task("acme/echo@v1", {"text": f"batch-7 item {i}"})["id"] for i in range(2)]
    make_tasks(3)
    ids = InferenceShListTasksOperator(task_id="ls", search="batch-7", ids_only=True).execute(make_context())
    assert sorted(ids) == sorted(tagged)


# -- Edges ---------------------------------------------------------------------------------------
def launch(n: int, final_status: str | None = None) -> list[str]:
    hook = EdgesHook()
    params = {"_emulator": {"final_status": final_status}} if final_status else None
    inputs = [{"linkedin_profile_url": "https://www.linkedin.com/in/p-1"}]
    return [hook.run_async(ACTION, inputs, parameters=params)["run_uid"] for _ in range(n)]


def test_edges_pages_and_filters(emu):
    failed = launch(3, "FAILED")
    launch(2)
    deadline = time.monotonic() + 10
    while {EdgesHook().get_run(u)["status"] for u in failed} != {"FAILED"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    rows = EdgesListRunsOperator(task_id="ls", statuses="FAILED", action_names=[ACTION]).execute(
        make_context()
    )
    assert sorted(r["run_id"] for r in rows) == sorted(failed)
    assert {r["state"] for r in rows} == {"FAILED"} and primitives_only(rows)
    assert rows[0]["action_name"] == ACTION


def test_edges_limit_bounds_the_pages(emu):
    uids = launch(7)
    rows = EdgesListRunsOperator(task_id="ls", limit=3).execute(make_context())
    assert [r["run_id"] for r in rows] == list(reversed(uids))[:3]  # newest first
    assert requests_of(emu, "edges")["GET /v1/runs"] == 1


# -- Inferable -----------------------------------------------------------------------------------
def test_inferable_lists_the_newest_and_filters_here(emu):
    hook = InferableHook()
    for i in range(4):
        hook.create_run(initial_prompt="p", run_id=f"listed-{i}", context={"_emulator": {"outcome": "stuck"}})
    hook.create_run(initial_prompt="p", run_id="listed-done")
    deadline = time.monotonic() + 10
    while hook.get_run("listed-done")["status"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ids = InferableListRunsOperator(task_id="ls", statuses=["done"], ids_only=True).execute(make_context())
    assert ids == ["listed-done"]
    rows = InferableListRunsOperator(task_id="ls", limit=10).execute(make_context())
    assert [r["run_id"] for r in rows][:1] == ["listed-done"] and len(rows) == 5 and primitives_only(rows)


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("factory", "kwargs", "named"),
    [
        (InferenceShListTasksOperator, {"statuses": ["finished"]}, "statuses"),
        (InferenceShListTasksOperator, {"created_after": "yesterday"}, "created_after"),
        (InferenceShListTasksOperator, {"app_id": "a/b"}, "app_id"),
        (EdgesListRunsOperator, {"statuses": ["DONE"]}, "statuses"),
        (EdgesListRunsOperator, {"execution_mode": "BATCH"}, "execution_mode"),
        (InferableListRunsOperator, {"statuses": ["cancelled"]}, "statuses"),
        (InferableListRunsOperator, {"run_type": "robot"}, "run_type"),
    ],
)
def test_bad_input_fails_before_any_request(emu, factory, kwargs, named):
    before = {s: sent(emu, s) for s in ("inference_sh", "edges", "inferable")}
    with pytest.raises(InvalidArgumentError, match=named):
        factory(task_id="ls", **kwargs).execute(make_context())
    assert {s: sent(emu, s) for s in before} == before


@pytest.mark.parametrize("factory", [InferenceShListTasksOperator, EdgesListRunsOperator])
@pytest.mark.parametrize("limit", [0, 1001, True, "10"])
def test_limit_is_bounded_at_parse(factory, limit):
    with pytest.raises(ValueError, match="limit"):
        factory(task_id="ls", limit=limit)


def test_inferable_limit_is_at_most_50():
    with pytest.raises(ValueError, match="limit must be an integer from 1 to 50"):
        InferableListRunsOperator(task_id="ls", limit=51)


@pytest.mark.parametrize(
    ("operator", "fields"),
    [
        (
            InferenceShListTasksOperator,
            {"inference_sh_conn_id", "statuses", "app_id", "session_id", "search"},
        ),
        (
            EdgesListRunsOperator,
            {"edges_conn_id", "statuses", "action_names", "execution_mode", "schedule_uid"},
        ),
        (InferableListRunsOperator, {"inferable_conn_id", "cluster_id", "statuses", "user_id", "run_type"}),
    ],
)
def test_template_fields(operator, fields):
    assert fields | {"created_after"} == set(operator.template_fields)
