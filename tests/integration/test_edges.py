"""Edges end to end against the emulator: the ten statuses under each policy in both paths,
files, reattach, schedules, live mode, listing, bad input."""

from __future__ import annotations

import json
import logging

import pytest

from airflow_provider_runs.core.errors import AuthError, NotFoundError
from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.sensors.edges import EdgesRunSensor
from airflow_provider_runs.testing.emulator.edges_api.assumptions import LIVE_PAGE_SIZE, LIVE_PAGES

from support import FakeStateStore, at_any_push, make_context, run_deferrable

KEY = "edges_integration_key_0001"
PATHS = ["deferrable", "worker"]
ACTION = "linkedin-extract-people"


def profiles(n: int, start: int = 0) -> list[dict]:
    return [
        {"linkedin_profile_url": f"https://www.linkedin.com/in/person-{i}", "custom_data": {"row": i}}
        for i in range(start, start + n)
    ]


@pytest.fixture(scope="module")
def edges_server(emulator_factory):
    return emulator_factory(edges_api_keys=[KEY], edges_input_seconds=0.01)


@pytest.fixture
def emu(edges_server, monkeypatch):
    yield from edges_server.fresh(
        monkeypatch,
        edges_default=edges_server.connection("edges", identity_mode="managed"),
        edges_wrong_key=edges_server.connection("edges", "edges_wrong_key_000", identity_mode="managed"),
    )


def counters(emu):
    return emu.control.counters()["edges"]


def context(try_number=1, store=None, **ti_fields):
    """A task context whose task instance has the identity run names are derived from."""
    return make_context(try_number, store, dag_id="dag", run_id="manual__1", **ti_fields)


def operator(tmp_path=None, scenario=None, **kwargs):
    parameters = dict(kwargs.pop("parameters", {}) or {})
    if scenario is not None:
        parameters["_emulator"] = scenario
    defaults = {
        "task_id": "enrich",
        "action": ACTION,
        "inputs": profiles(5),
        "poll_interval": 0.05,
        "timeout": 30,
    }
    if tmp_path is not None:
        defaults["output_path"] = str(tmp_path / "out.jsonl")
        defaults["failed_inputs_path"] = str(tmp_path / "failed.jsonl")
    return EdgesActionOperator(**{**defaults, **kwargs, "parameters": parameters or None})


def run(op, path, ctx=None):
    ctx = ctx or context()
    op.deferrable = path == "deferrable"
    return run_deferrable(op, ctx) if op.deferrable else op.execute(ctx)


# -- the ten statuses under each policy ---------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_succeeded_writes_results(emu, path, tmp_path):
    manifest = run(operator(tmp_path), path)
    assert manifest["status"] == "SUCCEEDED" and manifest["results"] == manifest["output_count"] >= 5
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == manifest["results"] and {json.loads(x)["custom_data"]["row"] for x in lines} == set(
        range(5)
    )
    assert manifest["failed_inputs"] == 0 and manifest["succeeded_inputs"] == 5


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("policy", ["fail", "succeed", "skip"])
def test_partial_succeeded(emu, path, policy, tmp_path):
    from airflow.providers.common.compat.sdk import AirflowSkipException

    op = operator(tmp_path, scenario={"fail_inputs": [1, 3]}, partial_success=policy)
    if policy == "fail":
        with pytest.raises(RunFailedError, match="3 inputs succeeded, 2 failed"):
            run(op, path)
    elif policy == "skip":
        with pytest.raises(AirflowSkipException, match="3 inputs succeeded, 2 failed"):
            run(op, path)
    else:
        manifest = run(op, path)
        assert manifest["status"] == "PARTIAL_SUCCEEDED" and manifest["failed_inputs"] == 2
    failed = [json.loads(x) for x in (tmp_path / "failed.jsonl").read_text().splitlines()]
    assert sorted(f["custom_data"]["row"] for f in failed) == [1, 3] and all(f["error"] for f in failed)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", ["FAILED", "INVALID"])
def test_failures(emu, path, status):
    with pytest.raises(RunFailedError, match=rf"failed \(status '{status}'\)"):
        run(operator(scenario={"final_status": status}), path)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("status", "scenario", "arg"),
    [("BLOCKED", {"block_run": True}, "BLOCKED"), ("STOPPED", {"stop_run": True}, "STOPPED")],
)
@pytest.mark.parametrize("policy", ["fail", "resume", "wait"])
def test_paused_runs(emu, path, status, scenario, arg, policy):
    op = operator(scenario=scenario, on_needs_action={arg: policy}, timeout=2 if policy == "wait" else 30)
    if policy == "fail":
        with pytest.raises(RunFailedError, match=rf"is {status}"):
            run(op, path)
    elif policy == "resume":
        assert run(op, path)["status"] == "SUCCEEDED"
        assert counters(emu)["resumes"] == 1
    else:
        with pytest.raises(RunFailedError, match=rf"deadline; last status '{status}'"):
            run(op, path)


@pytest.mark.parametrize("path", PATHS)
def test_resume_limit(emu, path):
    scenario = {"block_run": True, "block_again": True}
    op = operator(scenario=scenario, on_needs_action={"BLOCKED": "resume"}, max_resumes=2)
    with pytest.raises(RunFailedError, match="after 2 resumes"):
        run(op, path)
    assert counters(emu)["resumes"] == 2


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("status", ["CREATED", "QUEUED", "SCHEDULED", "RUNNING"])
def test_non_terminal_statuses_keep_waiting(emu, path, status):
    with pytest.raises(RunFailedError, match=rf"last status '{status}'"):
        run(operator(scenario={"stuck": True, "final_status": status}, timeout=0.8), path)


@pytest.mark.parametrize("path", PATHS)
def test_postponed_run_keeps_waiting(emu, path):
    assert run(operator(scenario={"postponed_seconds": 0.5}), path)["status"] == "SUCCEEDED"


# -- inputs from files --------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_inputs_from_jsonl_and_csv(emu, path, tmp_path):
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("\n".join(json.dumps(p) for p in profiles(7)) + "\n")
    assert run(operator(tmp_path, inputs=None, inputs_path=str(jsonl)), path)["succeeded_inputs"] == 7
    csv_file = tmp_path / "in.csv"
    csv_file.write_text(
        "linkedin_profile_url\n" + "\n".join(p["linkedin_profile_url"] for p in profiles(4)) + "\n"
    )
    assert run(operator(tmp_path, inputs=None, inputs_path=str(csv_file)), path)["succeeded_inputs"] == 4


# -- reattach and schedules -------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("store", [True, False], ids=["state-store", "no-state-store"])
def test_retry_reattaches(emu, path, store):
    shared = FakeStateStore() if store else None

    with pytest.raises(SystemExit):
        operator().execute(context(1, shared, crash_on=at_any_push))
    assert run(operator(), path, context(2, shared))["status"] == "SUCCEEDED"
    assert counters(emu)["runs_created"] == 1


@pytest.mark.parametrize("path", PATHS)
def test_launch_that_timed_out_after_landing_is_not_repeated(emu, path):
    fault = {
        "service": "edges",
        "method": "POST",
        "path_regex": "/run/async$",
        "kind": "drop",
        "phase": "after",
    }
    emu.control.add_faults([{**fault, "count": 1}])
    assert run(operator(), path, context(1, FakeStateStore()))["status"] == "SUCCEEDED"
    assert counters(emu)["runs_created"] == 1


def test_schedule_created_once_across_retries(emu):
    op = lambda: operator(mode="schedule", inputs=profiles(2), cron="0 3 * * *", timezone="Europe/Paris")  # noqa: E731
    first = op().execute(context(1))
    second = op().execute(context(2))
    assert first["schedule_uid"] == second["schedule_uid"] and counters(emu)["schedules_created"] == 1


def test_schedule_fires_on_its_cron(emu):
    manifest = operator(mode="schedule", inputs=profiles(1), cron="*/5 * * * *").execute(context())
    emu.control.advance(15 * 60)
    hook = EdgesHook()
    runs = [
        r
        for r in hook.iter_runs(sort="-created_at")
        if r.get("scheduled_run_uid") == manifest["schedule_uid"]
    ]
    assert runs, "the schedule did not fire"


def test_live_mode(emu):
    op = operator(mode="live", inputs=None, input=profiles(1)[0])
    result = op.execute(context())
    assert isinstance(result, dict) and result.get("full_name")


def live_calls(emu) -> int:
    """Live calls the emulator answered (and no other request was made)."""
    requests = counters(emu)["requests"]
    assert all(key.startswith("POST ") and key.endswith("/run/live") for key in requests), requests
    return sum(requests.values())


def test_live_list_action_follows_pages(emu):
    search = {"linkedin_people_search_url": "https://www.linkedin.com/search/results/people/?keywords=data"}
    op = operator(mode="live", action="linkedin-search-people", inputs=None, max_pages=5, input=search)
    result = op.execute(context())
    # the emulator's search has LIVE_PAGES pages of LIVE_PAGE_SIZE rows, ranked across pages
    pages, size = LIVE_PAGES, LIVE_PAGE_SIZE
    assert pages > 1 and isinstance(result, list) and len(result) == pages * size, result
    assert [row["rank"] for row in result] == list(range(pages * size))
    assert live_calls(emu) == pages


def test_live_list_action_stops_at_max_pages(emu):
    search = {"linkedin_people_search_url": "https://www.linkedin.com/search/results/people/?keywords=data"}
    op = operator(mode="live", action="linkedin-search-people", inputs=None, max_pages=2, input=search)
    result = op.execute(context())
    assert [row["rank"] for row in result] == list(range(2 * LIVE_PAGE_SIZE))
    assert live_calls(emu) == 2


# -- the launch callback ------------------------------------------------------------------------
def test_launch_without_a_configured_callback_sends_a_valid_one(emu):
    """The docs mark ``callback`` required (spec §2.2, §8 #2) and the default emulator enforces it:
    with none configured, the hook sends a final-only callback to a name that never resolves."""
    assert emu.config.edges_strict_callback
    manifest = run(operator(), "worker")
    assert manifest["status"] == "SUCCEEDED"
    assert EdgesHook().get_run(manifest["run_uid"])["callback"] == {"url": "https://no-callback.invalid/"}


def test_launch_uses_the_connections_callback_url(emu, monkeypatch):
    conn = emu.connection("edges", identity_mode="managed", callback_url="https://hooks.example.com/edges")
    monkeypatch.setenv("AIRFLOW_CONN_EDGES_CALLBACK", conn)
    manifest = run(operator(edges_conn_id="edges_callback"), "worker")
    callback = EdgesHook("edges_callback").get_run(manifest["run_uid"])["callback"]
    assert callback == {"url": "https://hooks.example.com/edges"}


# -- the sensor -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_sensor(emu, path):
    created = operator(wait_for_completion=False).execute(context())
    sensor = EdgesRunSensor(
        task_id="watch", run_id=created["run_uid"], poll_interval=0.05, deferrable=path == "deferrable"
    )
    ctx = context()
    result = run_deferrable(sensor, ctx) if sensor.deferrable else sensor.execute(ctx)
    uid = created["run_uid"]
    assert result == {
        "run_id": uid,
        "run_uid": uid,
        "status": "SUCCEEDED",
        "output_count": 5,
        "url": EdgesHook().run_url(uid),
    }


@pytest.mark.parametrize("path", PATHS)
def test_sensor_waits_on_a_split_batch(emu, path):
    """The ``run_uid`` of a split batch (a run group, ``uid1,uid2,...``) is waited on as one run."""
    created = operator(
        inputs=profiles(25), split_inputs=True, max_inputs_per_run=10, wait_for_completion=False
    )
    group = created.execute(context())["run_uid"]
    assert len(group.split(",")) == 3
    sensor = EdgesRunSensor(
        task_id="watch", run_id=group, poll_interval=0.05, deferrable=path == "deferrable"
    )
    ctx = context()
    result = run_deferrable(sensor, ctx) if sensor.deferrable else sensor.execute(ctx)
    assert result["run_uid"] == group and result["status"] == "SUCCEEDED" and result["output_count"] == 25
    assert [run["run_uid"] for run in result["runs"]] == group.split(",")
    assert result["url"] == EdgesHook().run_url(group.split(",")[0])


# -- bad input --------------------------------------------------------------------------------
def requests_sent(emu) -> int:
    return sum(counters(emu)["requests"].values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "Not A Slug"}, "action must be an action slug"),
        ({"mode": "live"}, 'mode="live" takes one input'),
        ({"mode": "async", "inputs": None, "input": {"a": 1}}, "takes inputs"),
        (
            {"inputs": [{"linkedin_profile_url": "x"}] * 100_001},
            "at most 100,000 inputs per run; got 100,001",
        ),
        ({"mode": "schedule", "inputs": profiles(101), "cron": "0 * * * *"}, "at most 100 inputs"),
        ({"inputs": []}, "inputs is empty"),
        ({"inputs": ["not an object"]}, r"inputs\[0\] must be a JSON object"),
        ({"inputs": "not json"}, "inputs must be a list of JSON objects"),
    ],
)
def test_errors_before_any_call(emu, kwargs, message):
    with pytest.raises(ValueError, match=message):
        operator(**kwargs).execute(context())
    assert requests_sent(emu) == 0


def test_malformed_file_line(emu, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"linkedin_profile_url": "https://www.linkedin.com/in/a"}\n{"oops": \n')
    with pytest.raises(ValueError, match="line 2: not valid JSON"):
        operator(inputs=None, inputs_path=str(bad)).execute(context())
    assert requests_sent(emu) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"partial_success": "maybe"}, "partial_success must be one of"),
        ({"on_needs_action": "x"}, "on_needs_action must be"),
        ({"on_needs_action": {"APPROVAL": "wait"}}, "on_needs_action takes the reasons BLOCKED, STOPPED"),
        ({"mode": "stream"}, "mode must be live, async or schedule"),
        ({"max_pages": 0}, "max_pages must be"),
    ],
)
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        operator(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sort": "name"}, "sort field 'name'"),
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"filters": {"status": "DONE"}}, "unknown run status"),
    ],
)
def test_listing_errors(emu, kwargs, message):
    with pytest.raises(ValueError, match=message):
        EdgesHook().list_runs(**kwargs)


def test_wrong_key_401(emu):
    with pytest.raises(AuthError) as err:
        operator(edges_conn_id="edges_wrong_key").execute(context())
    assert err.value.status_code == 401 and "edges_wrong_key_000" not in str(err.value)


def test_unknown_run_404(emu):
    with pytest.raises(NotFoundError) as err:
        EdgesHook().get_run("00000000-0000-0000-0000-000000000000")
    assert err.value.code == "NOT_FOUND"


def test_resume_of_a_finished_run_409(emu):
    from airflow_provider_runs.core.errors import ConflictError

    manifest = run(operator(), "worker")
    with pytest.raises(ConflictError):
        EdgesHook().resume_run(manifest["run_uid"])


def test_key_never_leaks(emu, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    ctx = context(1, FakeStateStore())
    manifest = run(operator(tmp_path), "deferrable", ctx)
    for text in (json.dumps(manifest), json.dumps(ctx["ti"].xcoms), caplog.text):
        assert KEY not in text


# -- batches split into several runs --------------------------------------------------------------
@pytest.mark.parametrize("path", PATHS)
def test_split_batch_runs_together(emu, path, tmp_path):
    op = operator(
        tmp_path,
        inputs=profiles(25),
        split_inputs=True,
        max_inputs_per_run=10,
        scenario={"fail_inputs": [2]},
        partial_success="succeed",
    )
    manifest = run(op, path)
    assert len(manifest["runs"]) == 3 and counters(emu)["runs_created"] == 3
    assert manifest["inputs"] == 25 and manifest["failed_inputs"] == 3  # input 2 of each run failed
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(r["custom_data"]["row"] for r in rows) == sorted(set(range(25)) - {2, 12, 22})


def test_too_many_inputs_without_split_is_refused_with_a_hint(emu):
    with pytest.raises(ValueError, match="split_inputs=True"):
        operator(inputs=[{"linkedin_profile_url": "x"}] * 100_001).execute(context())
    assert sum(counters(emu)["requests"].values()) == 0


@pytest.mark.parametrize("path", PATHS)
def test_split_batch_retry_reuses_every_part(emu, path):
    store = FakeStateStore()

    op = lambda: operator(inputs=profiles(25), split_inputs=True, max_inputs_per_run=10)  # noqa: E731
    with pytest.raises(SystemExit):
        op().execute(context(1, store, crash_on=at_any_push))
    assert run(op(), path, context(2, store))["status"] == "SUCCEEDED"
    assert counters(emu)["runs_created"] == 3


def test_split_batch_partly_launched_before_a_crash(emu):
    """A try that died after launching part 1 of 3: the retry launches only parts 2 and 3."""
    hook = EdgesHook()
    name = operator()._name(context())
    hook.run_async(ACTION, profiles(10), name=f"{name}:part1of3")
    manifest = run(
        operator(inputs=profiles(25), split_inputs=True, max_inputs_per_run=10), "worker", context(2)
    )
    assert manifest["status"] == "SUCCEEDED" and counters(emu)["runs_created"] == 3
