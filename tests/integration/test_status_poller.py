"""The shared status poller against the emulator: many triggers, few requests, one event each."""

from __future__ import annotations

import asyncio
import json
import math
import time

import pytest

from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.inferable import InferableHook
from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.testing.emulator.inferable_api import DEFAULT_CLUSTER
from airflow_provider_runs.triggers.poller import status_poller
from airflow_provider_runs.triggers.run_status import RunStatusTrigger, class_path

from support import TEST_KEY, first_event, roundtrip

EDGES_KEY = "edges_poller_key_0001"
INFERABLE_KEY = "sk_inf_poller_key_000000000000000000000000000"
ACTION = "linkedin-extract-people"
UNLIMITED = {"edges_rate_limit_tier": "unlimited", "inference_sh_rate_limit_tier": "unlimited"}


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        **UNLIMITED,
        edges_api_keys=[EDGES_KEY],
        inference_sh_api_keys=[TEST_KEY],
        inferable_clusters={DEFAULT_CLUSTER: [INFERABLE_KEY]},
        inferable_step_seconds=0.1,
        default_task_duration=0.3,
    )


@pytest.fixture
def emu(server, monkeypatch):
    unmetered = {"requests_per_minute": 0}  # no client-side budget
    yield from server.fresh(
        monkeypatch,
        edges_default=server.connection("edges", **unmetered),
        inference_sh_default=server.connection("inference_sh", **unmetered),
        inferable_default=server.connection("inferable", cluster_id=DEFAULT_CLUSTER, **unmetered),
    )


def requests(emu, service) -> dict[str, int]:
    return emu.control.counters()[service]["requests"]


def reads(emu, service) -> dict[str, int]:
    return {k: v for k, v in requests(emu, service).items() if k.startswith("GET ")}


def trigger(hook, run_id, **kwargs) -> RunStatusTrigger:
    """A trigger as the triggerer builds it: from its serialized form."""
    defaults = {"hook_class": class_path(hook), "conn_id": hook.default_conn_name, "poll_interval": 0.2}
    return roundtrip(RunStatusTrigger(**{**defaults, "run_id": run_id, **kwargs}))


async def wait_all(triggers, *, cancel=()):
    """Every trigger's first event, concurrently in this loop (``None`` for a cancelled one)."""
    tasks = [asyncio.create_task(first_event(t, timeout=60)) for t in triggers]
    if cancel:
        await asyncio.sleep(0.3)
        for i in cancel:
            tasks[i].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    events = [None if isinstance(r, asyncio.CancelledError) else r.payload for r in results]
    for r in results:
        if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
            raise r
    return events


def launch_edges(n, scenario) -> list[str]:
    hook = EdgesHook()
    profile = {"linkedin_profile_url": "https://www.linkedin.com/in/someone"}
    return [
        hook.run_async(ACTION, [profile], parameters={"_emulator": scenario})["run_uid"] for _ in range(n)
    ]


# -- Edges -------------------------------------------------------------------------------------
def test_200_edges_runs_cost_two_list_requests_a_sweep(emu):
    interval = 0.5
    ok = launch_edges(120, {"duration": 2.0})
    failed = launch_edges(40, {"duration": 2.0, "final_status": "FAILED"})
    blocked = launch_edges(40, {"duration": 2.0, "block_run": True})
    triggers = [trigger(EdgesHook, uid, poll_interval=interval) for uid in ok + failed]
    triggers += [
        trigger(EdgesHook, uid, poll_interval=interval, stop_on_states=["NEEDS_ACTION"]) for uid in blocked
    ]
    before = requests(emu, "edges")

    async def scenario():
        started = time.monotonic()
        events = await wait_all(triggers)
        elapsed = time.monotonic() - started
        poller = status_poller(EdgesHook, "edges_default", {})
        return events, elapsed, poller.batch_calls, poller.idle

    events, elapsed, batch_calls, idle = asyncio.run(scenario())
    after = requests(emu, "edges")
    polls = {k: after.get(k, 0) - before.get(k, 0) for k in after if k.startswith("GET ")}
    assert [e["run_id"] for e in events] == ok + failed + blocked  # exactly one event each
    assert {(e["event"], e["status"]["raw_status"]) for e in events[:120]} == {("status", "SUCCEEDED")}
    assert {(e["event"], e["status"]["state"]) for e in events[120:160]} == {("status", "FAILED")}
    assert all(e["status"]["message"] for e in events[120:160])  # last_error read from the list
    assert {(e["event"], e["status"]["raw_status"]) for e in events[160:]} == {("status", "BLOCKED")}
    sweeps = elapsed / interval
    print(f"edges: {polls} in {elapsed:.1f}s ({sweeps:.1f} sweeps of {interval}s)")
    assert set(polls) == {"GET /v1/runs"}, polls  # no run read on its own
    assert polls["GET /v1/runs"] == batch_calls <= math.ceil(200 / 100) * (math.ceil(sweeps) + 1)
    assert idle


def test_edges_run_missing_from_the_list_is_read_on_its_own(emu):
    uids = launch_edges(3, {"duration": 0.3})
    gone = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    events = asyncio.run(wait_all([trigger(EdgesHook, uid) for uid in [*uids, gone]]))
    assert [e["status"]["raw_status"] for e in events[:3]] == ["SUCCEEDED"] * 3
    assert events[3]["event"] == "error" and "404" in events[3]["message"]
    own = reads(emu, "edges")
    assert own.get("GET /v1/runs/{uid}/status") == 1, own  # only the missing one, once


def test_edges_run_group_is_answered_from_the_list(emu):
    uids = launch_edges(2, {"duration": 0.3}) + launch_edges(1, {"duration": 0.3, "final_status": "FAILED"})
    (event,) = asyncio.run(wait_all([trigger(EdgesHook, ",".join(uids))]))
    assert event["status"]["state"] == "PARTIAL" and event["status"]["details"]["runs"] == 3
    assert set(reads(emu, "edges")) == {"GET /v1/runs"}


def test_a_batch_error_reaches_every_waiter_and_each_applies_its_rules(emu):
    uids = launch_edges(5, {"duration": 0.5})
    emu.control.add_faults(
        [
            {
                "service": "edges",
                "method": "GET",
                "path_regex": "/runs$",
                "kind": "status",
                "status": 503,
                "count": 1,
            }
        ]
    )
    strict = [trigger(EdgesHook, uid, max_consecutive_failures=1) for uid in uids[:2]]
    patient = [trigger(EdgesHook, uid, max_consecutive_failures=5) for uid in uids[2:]]
    events = asyncio.run(wait_all(strict + patient))
    assert [e["event"] for e in events] == ["error", "error", "status", "status", "status"]
    assert all("503" in e["message"] for e in events[:2])
    assert [e["status"]["raw_status"] for e in events[2:]] == ["SUCCEEDED"] * 3
    assert emu.control.counters()["faults_injected"]["503"] == 1  # one request failed them all


def test_a_cancelled_trigger_leaves_the_others_and_the_poller_clean(emu):
    uids = launch_edges(4, {"duration": 1.0})

    async def scenario():
        events = await wait_all([trigger(EdgesHook, uid) for uid in uids], cancel=[1])
        poller = status_poller(EdgesHook, "edges_default", {})
        return events, poller.idle

    events, idle = asyncio.run(scenario())
    assert events[1] is None
    assert [events[i]["status"]["raw_status"] for i in (0, 2, 3)] == ["SUCCEEDED"] * 3
    assert idle


def test_deadline_cuts_a_wait_on_the_poller(emu):
    (uid,) = launch_edges(1, {"stuck": True})
    started = time.monotonic()
    (event,) = asyncio.run(wait_all([trigger(EdgesHook, uid, poll_interval=5, deadline=time.time() + 0.8)]))
    assert event["event"] == "timeout" and time.monotonic() - started < 2.5
    assert event["status"]["state"] in ("QUEUED", "RUNNING")  # the last status read


# -- inference.sh --------------------------------------------------------------------------------
def create_tasks(outcomes) -> list[str]:
    hook = InferenceShHook()
    return [
        hook.run_task("acme/echo@v1", {"text": str(i), "_emulator": {"outcome": o, "duration": 0.4}})["id"]
        for i, o in enumerate(outcomes)
    ]


OUTCOMES = ["completed", "failed", "cancelled", "rejected"] * 5
EXPECTED = [("SUCCEEDED", 10), ("FAILED", 11), ("CANCELLED", 12), ("FAILED", 13)] * 5


def test_inference_sh_tasks_are_read_with_an_id_in_filter(emu):
    ids = create_tasks(OUTCOMES)
    events = asyncio.run(wait_all([trigger(InferenceShHook, t) for t in ids]))
    assert [(e["status"]["state"], e["status"]["raw_status"]) for e in events] == EXPECTED
    assert all(e["status"]["message"] for e in events if e["status"]["state"] == "FAILED")
    reads = requests(emu, "inference_sh")
    print("inference.sh:", reads)
    assert reads.get("POST /tasks/list", 0) >= 1
    assert not [k for k in reads if k.startswith("GET /tasks/")], reads  # no task read on its own


def test_inference_sh_refusing_the_id_filter_falls_back_to_task_reads(emu):
    ids = create_tasks(OUTCOMES[:8])
    refusal = {
        "type": "https://api.inference.sh/errors/invalid_filter",
        "title": "Bad Request",
        "status": 400,
        "detail": "cannot filter on 'id'",
    }
    emu.control.add_faults(
        [
            {
                "service": "inference_sh",
                "method": "POST",
                "path_regex": "^/tasks/list$",
                "kind": "body",
                "status": 400,
                "body": json.dumps(refusal),
                "content_type": "application/problem+json",
            }
        ]
    )
    events = asyncio.run(wait_all([trigger(InferenceShHook, t, poll_interval=0.1) for t in ids]))
    assert [(e["status"]["state"], e["status"]["raw_status"]) for e in events] == EXPECTED[:8]
    reads = requests(emu, "inference_sh")
    assert reads["POST /tasks/list"] == 1, reads  # refused once, then never asked again
    assert sum(v for k, v in reads.items() if k.startswith("GET /tasks/")) >= 8


# -- Inferable -----------------------------------------------------------------------------------
def test_inferable_waiting_runs_are_read_from_the_run_list(emu):
    hook = InferableHook()
    ids = [hook.create_run(initial_prompt=f"job {i}")["id"] for i in range(6)]
    failing = hook.create_run(
        initial_prompt="bad", context={"_emulator": {"outcome": "failed", "failure_reason": "nope"}}
    )["id"]
    events = asyncio.run(wait_all([trigger(InferableHook, r, poll_interval=0.1) for r in [*ids, failing]]))
    assert [e["status"]["state"] for e in events] == ["SUCCEEDED"] * 6 + ["FAILED"]
    assert events[-1]["status"]["message"] == "nope"  # the run's own read carries the reason
    reads = requests(emu, "inferable")
    print("inferable:", reads)
    lists, own = (
        reads.get("GET /clusters/{cluster}/runs", 0),
        reads.get("GET /clusters/{cluster}/runs/{run}", 0),
    )
    assert lists >= 1, reads
    assert own <= 2 * len(events), reads  # a run's own read only once it is listed as finished
