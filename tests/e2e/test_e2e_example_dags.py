"""Every example DAG, triggered and followed through the REST API of a real Airflow.

The six DAG runs are triggered together (as a scheduler would see them on a busy night), the
approval request is answered through the REST API by a "human", and each test asserts one DAG's
task states and returned manifests.
"""

from __future__ import annotations

from typing import Any

import pytest
from example_ids import APPROVAL_DAG, EXAMPLE_DAG_IDS, RERUN_DAG, RERUN_FAIL_SHARE
from stack import AirflowStack

pytestmark = pytest.mark.timeout(1200)


def _states(stack: AirflowStack, example_runs: dict[str, Any], dag_id: str) -> dict[str, Any]:
    return stack.task_states(dag_id, example_runs["run_ids"][dag_id])


def _xcom(stack: AirflowStack, example_runs: dict[str, Any], dag_id: str, task_id: str, **kwargs: Any):
    return stack.xcom(dag_id, example_runs["run_ids"][dag_id], task_id, **kwargs)


def test_every_example_dag_succeeds(example_runs):
    states = {dag_id: run["state"] for dag_id, run in example_runs["runs"].items()}
    assert states == dict.fromkeys(EXAMPLE_DAG_IDS, "success"), states


def test_every_remote_run_was_created_once(example_runs):
    before, after = example_runs["before"], example_runs["after"]
    created = {
        service: after[service][counter] - before[service][counter]
        for service, counter in (
            ("inference_sh", "tasks_created"),
            ("inferable", "runs_created"),
            ("edges", "runs_created"),
        )
    }
    # inference.sh: 2 session tasks + 5 mapped echoes, and the day-two DAG's 3 jobs it cancels and
    # its session task. Inferable: the report and the approval runs, and the day-two agent (its
    # follow-up message continues that run). Edges: one async run of the nightly file (20,000
    # inputs, under the 100,000 a run takes: not split), one live call (linkedin-extract-people
    # answers one page: one call, one LIVE run), and the rerun example's first run and its rerun
    # of the failed inputs. The weekly schedule creates a schedule, not a run: its first execution
    # is the next Monday 06:00 in Paris, and the emulator runs in real time (no --time-scale in
    # the stack); the retire example cancels by name and creates nothing.
    assert created == {"inference_sh": 11, "inferable": 3, "edges": 4}, created
    schedules = after["edges"].get("schedules_created", 0) - before["edges"].get("schedules_created", 0)
    assert schedules == 1, schedules


def test_session_dag(stack, example_runs):
    dag_id = "example_inference_sh_session"
    assert _states(stack, example_runs, dag_id) == dict.fromkeys(
        ("open_session", "continue_session", "watch_first_task", "report"), "success"
    )
    first = _xcom(stack, example_runs, dag_id, "open_session")
    second = _xcom(stack, example_runs, dag_id, "continue_session")
    assert first["status"] == second["status"] == "completed", (first, second)
    assert first["session_id"] and second["session_id"] == first["session_id"]
    assert (first["output"]["count"], second["output"]["count"]) == (1, 2)
    assert first["url"].startswith(stack.emulator_url) and first["url"].endswith(first["task_id"])
    report = _xcom(stack, example_runs, dag_id, "report")
    assert report == {"session_id": first["session_id"], "outputs": [first["output"], second["output"]]}


def test_batch_dag(stack, example_runs):
    dag_id = "example_inference_sh_batch"
    states = _states(stack, example_runs, dag_id)
    assert states == {
        "make_inputs": "success",
        "summarize": "success",
        **{f"echo[{i}]": "success" for i in range(5)},
    }, states
    manifests = [_xcom(stack, example_runs, dag_id, "echo", map_index=i) for i in range(5)]
    assert len({m["task_id"] for m in manifests}) == 5
    assert _xcom(stack, example_runs, dag_id, "summarize") == {
        "count": 5,
        "texts": [f"document {i}" for i in range(1, 6)],
    }


def test_inferable_daily_report(stack, example_runs):
    dag_id = "example_inferable_daily_report"
    assert _states(stack, example_runs, dag_id) == {"count_tickets": "success", "publish": "success"}
    manifest = _xcom(stack, example_runs, dag_id, "count_tickets")
    assert manifest["status"] == "done", manifest
    assert set(manifest["result"]) == {"open_tickets", "oldest_ticket_id", "summary"}
    line = _xcom(stack, example_runs, dag_id, "publish")
    assert line.startswith(f"{manifest['result']['open_tickets']} open tickets")


def test_inferable_approval_answered_through_the_api(stack, example_runs):
    dag_id = APPROVAL_DAG
    assert _states(stack, example_runs, dag_id) == {"notify_customer": "success"}
    assert "send_email" in example_runs["approval"]["subject"], example_runs["approval"]
    before, after = example_runs["before"], example_runs["after"]
    # this one, answered through Airflow's HITL, and the day-two DAG's InferableApprovalOperator
    assert after["inferable"].get("approvals", 0) - before["inferable"].get("approvals", 0) == 2
    manifest = _xcom(stack, example_runs, dag_id, "notify_customer")
    assert manifest["status"] == "done" and manifest["result"]["sent"] is True, manifest


def test_edges_nightly_enrichment(stack, example_runs):
    dag_id = "example_edges_nightly_enrichment"
    assert _states(stack, example_runs, dag_id) == dict.fromkeys(
        ("export_profiles", "enrich_profiles", "summarize"), "success"
    )
    manifest = _xcom(stack, example_runs, dag_id, "enrich_profiles")
    assert manifest["succeeded_inputs"] + manifest["failed_inputs"] == 20_000, manifest
    assert manifest["results"] >= manifest["succeeded_inputs"] > 0, manifest
    summary = _xcom(stack, example_runs, dag_id, "summarize")
    assert summary["results"] == manifest["results"] and summary["first_result"], summary


def test_edges_live_and_schedule(stack, example_runs):
    dag_id = "example_edges_live_and_schedule"
    assert _states(stack, example_runs, dag_id) == {
        "lookup_one_profile": "success",
        "weekly_schedule": "success",
    }
    assert _xcom(stack, example_runs, dag_id, "weekly_schedule")["schedule_uid"]
    lookup = _xcom(stack, example_runs, dag_id, "lookup_one_profile")
    assert lookup["linkedin_profile_url"] == "https://www.linkedin.com/in/jdoe", lookup  # the live result


def test_edges_rerun_failed_inputs(stack, example_runs):
    """The first batch loses 3% of its inputs; the rerun sends exactly those and the counts merge."""
    dag_id = RERUN_DAG
    assert _states(stack, example_runs, dag_id) == dict.fromkeys(
        ("export_profiles", "enrich_profiles", "rerun_failed_inputs", "report"), "success"
    )
    first = _xcom(stack, example_runs, dag_id, "enrich_profiles")
    rerun = _xcom(stack, example_runs, dag_id, "rerun_failed_inputs")
    failed = first["failed_inputs"]
    assert first["status"] == "PARTIAL_SUCCEEDED" and 0 < failed < 10_000, first
    assert abs(failed - RERUN_FAIL_SHARE * 10_000) < 150, first  # the scripted share, not luck
    assert rerun["sent_inputs"] == rerun["inputs"] == failed and rerun["status"] == "SUCCEEDED", rerun
    assert rerun["run_id"] != first["run_id"]
    assert rerun["merged"] == {
        "inputs": 10_000,
        "succeeded_inputs": 10_000,
        "failed_inputs": 0,
        "results": 10_000,
    }, rerun
    assert _xcom(stack, example_runs, dag_id, "report")["rerun_sent"] == failed


def test_day_two_operations(stack, example_runs):
    """Cancel by listing, end a session, approve and continue an agent run, list on every service."""
    dag_id = "example_day_two"
    states = _states(stack, example_runs, dag_id)
    assert set(states.values()) == {"success"}, states
    assert sum(1 for task in states if task.startswith("cancel_each[")) == 3, states
    summary = _xcom(stack, example_runs, dag_id, "report")
    assert summary["cancelled"] == ["cancelled"] * 3, summary
    # the rerun example's first run ended PARTIAL_SUCCEEDED, but may have ended after the listing
    assert set(summary["edges_runs_to_rerun"]) <= {
        _xcom(stack, example_runs, RERUN_DAG, "enrich_profiles")["run_id"]
    }
    approved = _xcom(stack, example_runs, dag_id, "approve_send_email")
    assert approved["outcome"] == "approved" and approved["run_id"] in summary["agent_runs_done"], approved
    follow_up = _xcom(stack, example_runs, dag_id, "follow_up")
    # "already_sent": a retry found the message its first try sent. Airflow can fail a deferred
    # task whose trigger fires within seconds (the worker's stale "success" for the deferral meets
    # the resumed task: apache/airflow#67287, #72716); the retry must not send it twice.
    assert follow_up["outcome"] in {"sent", "already_sent"} and follow_up["reply"], follow_up
    ended = _xcom(stack, example_runs, dag_id, "end_session")
    assert ended["outcome"] == "ended", ended
    before, after = example_runs["before"], example_runs["after"]
    assert after["inference_sh"]["cancels"] - before["inference_sh"]["cancels"] == 3
    assert after["inferable"]["messages_added"] - before["inferable"].get("messages_added", 0) == 1


def test_edges_schedule_retire(stack, example_runs):
    dag_id = "example_edges_schedule_retire"
    assert _states(stack, example_runs, dag_id) == {"cancel_schedule": "success"}


def test_extra_links_point_at_the_runs(stack, example_runs):
    """The API server (which never ran the task) renders each operator's "Run" link."""
    for dag_id, task_id in (
        ("example_inference_sh_session", "open_session"),
        ("example_inferable_daily_report", "count_tickets"),
        ("example_edges_nightly_enrichment", "enrich_profiles"),
    ):
        run_id = example_runs["run_ids"][dag_id]
        links = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links")
        url = links["extra_links"]["Run"]
        assert url == stack.xcom(dag_id, run_id, task_id, key="run_url"), links
        assert url.startswith(stack.emulator_url), url
