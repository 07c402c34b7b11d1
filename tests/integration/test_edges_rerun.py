"""Rerun only what failed (``EdgesRerunFailedInputsOperator``) against the emulator, real HTTP:
each source (run uid, manifest, upstream task, file), FAILED and PARTIAL_SUCCEEDED first runs,
files beside the first ones, merged counts, retries that reattach, bad input before any call."""

from __future__ import annotations

import json

import pytest

from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.edges_rerun import EdgesRerunFailedInputsOperator
from airflow_provider_runs.waiting.errors import RunFailedNoRetryError

from support import (
    FakeStateStore,
    SiblingTI,
    XComTable,
    at_any_push,
    make_context,
    run_deferrable,
    task_context,
)

PATHS = ["deferrable", "worker"]
ACTION = "linkedin-extract-people"
ERROR = "GENERIC_ERROR"
"""A real failure label (``NO_RESULT``/``STATUS_404`` are "no data" outcomes, not failures)."""


def profiles(n: int) -> list[dict]:
    return [
        {"linkedin_profile_url": f"https://www.linkedin.com/in/person-{i}", "custom_data": {"row": i}}
        for i in range(n)
    ]


def counters(edges_emulator) -> dict:
    return edges_emulator.control.counters()["edges"]


def requests_sent(edges_emulator) -> int:
    return sum(counters(edges_emulator).get("requests", {}).values())


def context(try_number=1, store=None, **ti_fields):
    return make_context(try_number, store, dag_id="dag", run_id="manual__1", **ti_fields)


def first_batch(tmp_path, n=5, scenario=None, **kwargs):
    """The first run (an ordinary Edges task); its manifest."""
    scenario = {"fail_inputs": [1, 3], "error_label": ERROR} if scenario is None else scenario
    op = EdgesActionOperator(
        task_id="enrich",
        action=ACTION,
        inputs=profiles(n),
        parameters={"experiences": True, "_emulator": scenario},
        output_path=str(tmp_path / "out.jsonl"),
        failed_inputs_path=str(tmp_path / "failed.jsonl"),
        partial_success="succeed",
        poll_interval=0.05,
        timeout=30,
        **kwargs,
    )
    return op.execute(context())


def rerun_op(**kwargs):
    defaults = {"task_id": "rerun_failed", "poll_interval": 0.05, "timeout": 30}
    return EdgesRerunFailedInputsOperator(**{**defaults, **kwargs})


def run(op, path, ctx=None):
    ctx = ctx or context()
    op.deferrable = path == "deferrable"
    return run_deferrable(op, ctx) if op.deferrable else op.execute(ctx)


def rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- sources ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_partial_run_by_uid_sends_only_the_failed_inputs(edges_emulator, path, tmp_path):
    first = first_batch(tmp_path)
    assert first["status"] == "PARTIAL_SUCCEEDED" and counters(edges_emulator)["inputs_received"] == 5
    ctx = context()
    manifest = run(rerun_op(run_uid=first["run_uid"], output_path=str(tmp_path / "again.jsonl")), path, ctx)
    assert (
        counters(edges_emulator)["runs_created"] == 2 and counters(edges_emulator)["inputs_received"] == 5 + 2
    )
    assert manifest["status"] == "SUCCEEDED" and manifest["sent_inputs"] == 2 and manifest["rerun"] == 1
    assert sorted(r["custom_data"]["row"] for r in rows(tmp_path / "again.jsonl")) == [1, 3]
    assert manifest["first_run"] == {
        "run_uid": first["run_uid"],
        "status": "PARTIAL_SUCCEEDED",
        "inputs": 5,
        "succeeded_inputs": 3,
        "failed_inputs": 2,
        "no_data_inputs": 0,
        "results": 3,
        "output_path": None,
        "failed_inputs_path": None,
    }
    assert manifest["merged"] == {"inputs": 5, "succeeded_inputs": 5, "failed_inputs": 0, "results": 5}
    # the rerun keeps the first run's action and parameters, and its link is the rerun's page
    rerun = EdgesHook().get_run(manifest["run_uid"])
    assert rerun["action_name"] == ACTION and rerun["parameters"] == {"experiences": True}
    assert ctx["ti"].xcoms["run_url"] == EdgesHook().run_url(manifest["run_uid"]) == manifest["url"]


@pytest.mark.parametrize("path", PATHS)
def test_failed_run_reruns_every_input(edges_emulator, path, tmp_path):
    first = first_batch(tmp_path, n=4, scenario={"final_status": "FAILED"}, wait_for_completion=False)
    edges_emulator.control.advance(5)  # let it end
    manifest = run(rerun_op(run_uid=first["run_uid"]), path)
    assert manifest["first_run"]["status"] == "FAILED" and manifest["sent_inputs"] == 4
    assert manifest["merged"] == {"inputs": 4, "succeeded_inputs": 4, "failed_inputs": 0, "results": 0 + 4}
    assert counters(edges_emulator)["inputs_received"] == 4 + 4


def test_manifest_source_writes_beside_the_first_files_and_reads_its_failed_file(edges_emulator, tmp_path):
    first = first_batch(tmp_path)
    inputs_pages_before = counters(edges_emulator)["requests"].get("GET /v1/runs/{uid}/inputs", 0)
    manifest = run(
        rerun_op(
            manifest=first,
            parameters={"experiences": True, "_emulator": {"fail_inputs": [0], "error_label": ERROR}},
            partial_success="succeed",
        ),
        "worker",
    )
    # the failed inputs came from the first task's file: only the rerun's own inputs were paged
    assert counters(edges_emulator)["requests"]["GET /v1/runs/{uid}/inputs"] - inputs_pages_before == 1
    assert manifest["output_path"] == str(tmp_path / "out.rerun-1.jsonl")
    assert manifest["failed_inputs_path"] == str(tmp_path / "failed.rerun-1.jsonl")
    assert [r["custom_data"]["row"] for r in rows(tmp_path / "out.rerun-1.jsonl")] == [3]
    assert [r["custom_data"]["row"] for r in rows(tmp_path / "failed.rerun-1.jsonl")] == [1]
    assert manifest["status"] == "PARTIAL_SUCCEEDED"
    assert manifest["merged"] == {"inputs": 5, "succeeded_inputs": 4, "failed_inputs": 1, "results": 4}
    assert (tmp_path / "out.jsonl").exists() and len(rows(tmp_path / "out.jsonl")) == 3  # untouched


def test_rerun_of_a_rerun_chains_numbers_files_and_counts(edges_emulator, tmp_path):
    first = first_batch(tmp_path)
    scenario = {"experiences": True, "_emulator": {"fail_inputs": [0], "error_label": ERROR}}
    one = run(rerun_op(manifest=first, parameters=scenario, partial_success="succeed"), "worker")
    two = run(rerun_op(task_id="rerun_again", manifest=one), "worker")
    assert two["rerun"] == 2 and two["sent_inputs"] == 1
    assert two["output_path"] == str(tmp_path / "out.rerun-2.jsonl")
    assert [r["custom_data"]["row"] for r in rows(tmp_path / "out.rerun-2.jsonl")] == [1]
    assert two["merged"] == {"inputs": 5, "succeeded_inputs": 5, "failed_inputs": 0, "results": 5}
    assert counters(edges_emulator)["inputs_received"] == 5 + 2 + 1


@pytest.mark.parametrize("path", PATHS)
def test_failed_inputs_file_source(edges_emulator, path, tmp_path):
    first_batch(tmp_path)
    manifest = run(
        rerun_op(
            failed_inputs_path=str(tmp_path / "failed.jsonl"),
            action=ACTION,
            output_path=str(tmp_path / "r.jsonl"),
        ),
        path,
    )
    assert manifest["sent_inputs"] == 2 and manifest["status"] == "SUCCEEDED"
    assert manifest["first_run"]["inputs"] is None and manifest["merged"]["failed_inputs"] == 0
    assert manifest["first_run"]["failed_inputs_path"] == str(tmp_path / "failed.jsonl")
    assert sorted(r["custom_data"]["row"] for r in rows(tmp_path / "r.jsonl")) == [1, 3]


def test_plain_json_array_file_of_inputs(edges_emulator, tmp_path):
    source = tmp_path / "to-retry.json"
    source.write_text(json.dumps(profiles(3)))
    manifest = run(rerun_op(failed_inputs_path=str(source), action=ACTION), "worker")
    assert manifest["sent_inputs"] == 3 and counters(edges_emulator)["inputs_received"] == 3


def test_source_task_manifest_from_xcom(edges_emulator, tmp_path):
    table = XComTable()
    first = first_batch(tmp_path)
    table.rows[("enrich", -1, "return_value")] = first
    ti = SiblingTI(table, task_id="rerun_failed")
    manifest = run(rerun_op(source_task_id="enrich"), "worker", task_context(ti))
    assert manifest["first_run"]["run_uid"] == first["run_uid"] and manifest["sent_inputs"] == 2


def test_source_task_that_failed_on_partial_success_gives_its_run_id(edges_emulator, tmp_path):
    table = XComTable()
    enrich = EdgesActionOperator(
        task_id="enrich",
        action=ACTION,
        inputs=profiles(5),
        parameters={"_emulator": {"fail_inputs": [2], "error_label": ERROR}},
        poll_interval=0.05,
        timeout=30,
    )
    with pytest.raises(RunFailedError, match="partially succeeded"):
        enrich.execute(task_context(SiblingTI(table, task_id="enrich")))
    manifest = run(
        rerun_op(source_task_id="enrich"), "worker", task_context(SiblingTI(table, task_id="rerun_failed"))
    )
    assert manifest["sent_inputs"] == 1 and manifest["merged"]["succeeded_inputs"] == 5


def test_split_batch_source(edges_emulator, tmp_path):
    first = first_batch(tmp_path, n=25, split_inputs=True, max_inputs_per_run=10)
    assert len(first["runs"]) == 3
    manifest = run(rerun_op(run_uid=first["run_uid"], output_path=str(tmp_path / "r.jsonl")), "worker")
    assert manifest["sent_inputs"] == 6  # inputs 1 and 3 of each part
    assert manifest["merged"] == {"inputs": 25, "succeeded_inputs": 25, "failed_inputs": 0, "results": 25}


def test_no_data_inputs_are_not_rerun(edges_emulator, tmp_path):
    first = first_batch(tmp_path, scenario={"fail_inputs": [1, 3], "error_label": "NO_RESULT"})
    manifest = run(rerun_op(run_uid=first["run_uid"]), "worker")
    assert manifest["run_uid"] is None and manifest["sent_inputs"] == 0
    assert manifest["first_run"]["no_data_inputs"] == 2 and counters(edges_emulator)["runs_created"] == 1


# -- the first run's state --------------------------------------------------------------------
def test_run_not_ended_fails_the_try(edges_emulator, tmp_path):
    first = first_batch(tmp_path, scenario={"stuck": True}, wait_for_completion=False)
    with pytest.raises(RunFailedError, match="has not ended"):
        rerun_op(run_uid=first["run_uid"]).execute(context())
    assert counters(edges_emulator)["runs_created"] == 1


def test_invalid_run_is_not_rerun(edges_emulator, tmp_path):
    first = first_batch(tmp_path, scenario={"final_status": "INVALID"}, wait_for_completion=False)
    edges_emulator.control.advance(1)
    with pytest.raises(RunFailedNoRetryError, match="ended INVALID"):
        rerun_op(run_uid=first["run_uid"]).execute(context())


# -- retries ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("store", [True, False], ids=["state-store", "no-state-store"])
def test_retry_reattaches_to_the_rerun(edges_emulator, path, store, tmp_path):
    first = first_batch(tmp_path)
    shared = FakeStateStore() if store else None
    with pytest.raises(SystemExit):  # the worker dies right after the launch
        rerun_op(run_uid=first["run_uid"]).execute(context(1, shared, crash_on=at_any_push))
    manifest = run(rerun_op(run_uid=first["run_uid"]), path, context(2, shared))
    assert manifest["status"] == "SUCCEEDED" and manifest["sent_inputs"] == 2
    assert (
        counters(edges_emulator)["runs_created"] == 2 and counters(edges_emulator)["inputs_received"] == 5 + 2
    )


def test_retry_of_a_partial_rerun_sends_nothing_again(edges_emulator, tmp_path):
    first = first_batch(tmp_path)
    store = FakeStateStore()
    scenario = {"_emulator": {"fail_inputs": [0], "error_label": ERROR}}
    op = lambda: rerun_op(run_uid=first["run_uid"], parameters=scenario)  # noqa: E731
    with pytest.raises(RunFailedError, match="1 inputs succeeded, 1 failed"):
        op().execute(context(1, store))
    with pytest.raises(RunFailedError, match="1 inputs succeeded, 1 failed"):
        op().execute(context(2, store))
    assert (
        counters(edges_emulator)["runs_created"] == 2 and counters(edges_emulator)["inputs_received"] == 5 + 2
    )


def test_retry_after_a_rerun_that_failed_outright_sends_the_same_failed_inputs(edges_emulator, tmp_path):
    first = first_batch(tmp_path)
    store = FakeStateStore()
    failing = rerun_op(run_uid=first["run_uid"], parameters={"_emulator": {"final_status": "FAILED"}})
    with pytest.raises(RunFailedError):
        failing.execute(context(1, store))
    manifest = rerun_op(run_uid=first["run_uid"]).execute(context(2, store))
    assert manifest["status"] == "SUCCEEDED" and manifest["sent_inputs"] == 2
    assert (
        counters(edges_emulator)["runs_created"] == 3
        and counters(edges_emulator)["inputs_received"] == 5 + 2 + 2
    )


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one of run_uid, manifest, source_task_id, failed_inputs_path"),
        ({"run_uid": "a", "source_task_id": "b"}, "got run_uid, source_task_id"),
        ({"run_uid": "../runs"}, "run_uid"),
        ({"manifest": {"status": "SUCCEEDED"}}, "manifest names no run"),
        ({"manifest": "not json"}, "manifest must be a JSON object"),
        ({"failed_inputs_path": "/tmp/x.jsonl"}, "action is required with failed_inputs_path"),
        ({"run_uid": "0f6c", "action": "Not A Slug"}, "action must be an action slug"),
        ({"run_uid": "0f6c", "output_path": ""}, "output_path is empty"),
        ({"run_uid": "0f6c", "still_failed_path": "/"}, "still_failed_path '/' is a directory"),
    ],
)
def test_errors_before_any_call(edges_emulator, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rerun_op(**kwargs).execute(context())
    assert requests_sent(edges_emulator) == 0


def test_missing_file_is_named(edges_emulator, tmp_path):
    with pytest.raises(ValueError, match=r"failed_inputs_path .* does not exist"):
        rerun_op(failed_inputs_path=str(tmp_path / "none.jsonl"), action=ACTION).execute(context())
    assert requests_sent(edges_emulator) == 0


@pytest.mark.parametrize("argument", ["mode", "inputs", "inputs_path", "cron"])
def test_batch_arguments_are_refused(argument):
    with pytest.raises(ValueError, match=f"{argument}: not arguments of EdgesRerunFailedInputsOperator"):
        rerun_op(run_uid="x", **{argument: "x"})


def test_unknown_run_fails_with_the_service_message(edges_emulator):
    from airflow_provider_runs.core.errors import NotFoundError

    with pytest.raises(NotFoundError, match="not found"):
        rerun_op(run_uid="00000000-0000-0000-0000-000000000000").execute(context())


def test_templated_fields():
    fields = set(EdgesRerunFailedInputsOperator.template_fields)
    assert {"run_uid", "manifest", "source_task_id", "failed_inputs_path", "output_path"} <= fields
    assert {"still_failed_path", "edges_conn_id", "action", "parameters"} <= fields
    assert not fields & {"inputs", "inputs_path", "input", "schedule_at"}


# -- the closing note's flow, smaller ---------------------------------------------------------
def test_a_share_of_failures_is_rerun_exactly_once(edges_emulator, tmp_path):
    """400 inputs, 3% failing: the rerun sends exactly the failed ones; a worker killed right
    after the launch is retried and reattaches (no third run, nothing sent twice)."""
    edges_emulator.control.set_scenario({"fail_share": 0.03, "error_label": ERROR}, count=1, service="edges")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in profiles(400)))
    first = EdgesActionOperator(
        task_id="enrich",
        action=ACTION,
        inputs_path=str(source),
        output_path=str(tmp_path / "out.jsonl"),
        failed_inputs_path=str(tmp_path / "failed.jsonl"),
        partial_success="succeed",
        poll_interval=0.05,
        timeout=60,
    ).execute(context())
    failed = first["failed_inputs"]
    assert 0 < failed < 400
    before = counters(edges_emulator)
    store = FakeStateStore()
    with pytest.raises(SystemExit):
        rerun_op(manifest=first).execute(context(1, store, crash_on=at_any_push))
    manifest = rerun_op(manifest=first).execute(context(2, store))
    after = counters(edges_emulator)
    assert manifest["sent_inputs"] == failed == after["inputs_received"] - before["inputs_received"]
    assert after["runs_created"] - before["runs_created"] == 1
    assert manifest["merged"] == {"inputs": 400, "succeeded_inputs": 400, "failed_inputs": 0, "results": 400}
    failed_rows = {
        json.loads(x)["custom_data"]["row"] for x in (tmp_path / "failed.jsonl").read_text().splitlines()
    }
    again = {
        json.loads(x)["custom_data"]["row"] for x in (tmp_path / "out.rerun-1.jsonl").read_text().splitlines()
    }
    assert again == failed_rows and len(again) == failed


def test_templates_render():
    task = rerun_op(
        run_uid="{{ params.run }}",
        output_path="/tmp/{{ ds }}/out.jsonl",
        still_failed_path="/tmp/{{ ds }}/failed.jsonl",
        edges_conn_id="{{ params.conn }}",
        action="{{ params.action }}",
        callback={"url": "{{ params.url }}"},
    )
    params = {"run": "0f6c", "conn": "edges_eu", "action": ACTION, "url": "https://hooks.example/e"}
    task.render_template_fields({"params": params, "ds": "2026-12-01"})
    assert (task.run_uid, task.edges_conn_id, task.action) == ("0f6c", "edges_eu", ACTION)
    assert task.output_path == "/tmp/2026-12-01/out.jsonl" and task.still_failed_path.startswith(
        "/tmp/2026-12-01"
    )
    assert task.callback == {"url": "https://hooks.example/e"}


def test_resumed_in_a_new_operator_instance_keeps_the_first_run(edges_emulator, tmp_path):
    """Airflow resumes a deferred task in a new operator instance: the first run's summary rides
    the deferral's kwargs, so the first run is not read again."""
    import asyncio

    from airflow.providers.common.compat.sdk import TaskDeferred

    from support import first_event, roundtrip

    first = first_batch(tmp_path)
    ctx = context()
    with pytest.raises(TaskDeferred) as deferred:
        rerun_op(run_uid=first["run_uid"], deferrable=True).execute(ctx)
    pages = counters(edges_emulator)["requests"]["GET /v1/runs/{uid}/inputs"]
    event = asyncio.run(first_event(roundtrip(deferred.value.trigger)))
    fresh = rerun_op(run_uid=first["run_uid"], deferrable=True)
    manifest = fresh.execute_complete(ctx, event=event.payload, **deferred.value.kwargs)
    assert manifest["first_run"]["inputs"] == 5 and manifest["merged"]["succeeded_inputs"] == 5
    assert (
        counters(edges_emulator)["requests"]["GET /v1/runs/{uid}/inputs"] == pages + 1
    )  # the rerun's own only
