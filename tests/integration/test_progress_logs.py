"""What the task log says while a run goes, against the emulator (real HTTP), on both paths: one
line per change of the run (never one per poll), a summary at the end, and the end of a failed
inference.sh task's own log."""

from __future__ import annotations

import logging
import re

import pytest
import structlog

from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator
from airflow_provider_runs.waiting.progress import TAIL_LINES

from support import TEST_KEY, make_context, run_deferrable

PATHS = ["deferrable", "worker"]
EDGES_KEY = "edges_progress_key_0001"
INPUTS = 300


@pytest.fixture
def task_log(caplog):
    """The task's log lines: Airflow's task and trigger loggers (structlog) routed to ``logging``
    for the test, so that ``caplog`` holds what the task log would."""
    saved = structlog.get_config()
    structlog.configure(
        processors=[structlog.stdlib.PositionalArgumentsFormatter(), structlog.stdlib.render_to_log_kwargs],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    caplog.set_level(logging.INFO)
    yield lambda: [record.getMessage() for record in caplog.records]
    structlog.reset_defaults()
    structlog.configure(**saved)


@pytest.fixture(scope="module")
def edges_server(emulator_factory):
    # 300 inputs at 0.02 s: a 6 s run, so that even a loaded machine polls it many times
    return emulator_factory(edges_api_keys=[EDGES_KEY], edges_input_seconds=0.02)


@pytest.fixture
def edges(edges_server, monkeypatch):
    yield from edges_server.fresh(
        monkeypatch, edges_default=edges_server.connection("edges", identity_mode="managed")
    )


def run(op, path):
    op.deferrable = path == "deferrable"
    context = make_context(dag_id="dag", run_id="manual__1")
    return run_deferrable(op, context) if op.deferrable else op.execute(context)


POLL_ROUTES = re.compile(r"GET (/v1)?/runs(/\{\w+\}/status)?|GET /tasks/\{\w+\}/status|POST /tasks/list")
"""Status reads: single reads and batch listings (Edges ``/v1/runs``, inference.sh ``/tasks``)."""


def polls(server, service: str) -> int:
    """Status reads the emulator answered for ``service``."""
    requests = server.control.counters()[service]["requests"]
    return sum(n for route, n in requests.items() if POLL_ROUTES.fullmatch(route))


@pytest.mark.parametrize("path", PATHS)
def test_edges_async_run_logs_each_change_once_and_a_summary(edges, edges_server, task_log, path):
    inputs = [{"linkedin_profile_url": f"https://www.linkedin.com/in/person-{i}"} for i in range(INPUTS)]
    op = EdgesActionOperator(
        task_id="enrich", action="linkedin-extract-people", inputs=inputs, poll_interval=0.05, timeout=60
    )
    manifest = run(op, path)
    run_id = manifest["run_uid"]
    lines = task_log()
    changes = [line for line in lines if line.startswith(f"Run {run_id} is ")]
    assert polls(edges_server, "edges") >= 20, "the run should last many polls"
    assert 1 <= len(changes) <= 3, changes  # CREATED/QUEUED, RUNNING at most: never one per poll
    assert len(set(changes)) == len(changes)
    assert sum(line == f"Run {run_id} is RUNNING" for line in changes) == 1, changes
    summaries = [line for line in lines if line.startswith(f"Run {run_id} ended")]
    assert len(summaries) == 1, lines
    assert re.fullmatch(rf"Run {run_id} ended SUCCEEDED after \d+\.\ds \(.*\)\.", summaries[0]), summaries
    assert f"inputs {INPUTS:,}" in summaries[0] and f"results {INPUTS:,}" in summaries[0]
    assert "failed inputs 0" in summaries[0]


def failing_task(**scenario):
    log_lines = [f"step {i}" for i in range(50)] + [f"calling the model with key {TEST_KEY}"]
    # 1.5 s: many polls (at 0.05 s) even on a loaded machine, so a line per poll would show
    story = {"outcome": "failed", "duration": 1.5, "error": "CUDA out of memory", "log_lines": log_lines}
    return InferenceShTaskOperator(
        task_id="t",
        app="acme/echo@v1",
        input={"text": "x", "_emulator": {**story, **scenario}},
        poll_interval=0.05,
    )


@pytest.mark.parametrize("path", PATHS)
def test_inference_sh_failure_quotes_the_end_of_the_task_log(emulator, task_log, path):
    with pytest.raises(RunFailedError, match="CUDA out of memory") as failed:
        run(failing_task(), path)
    task_id = re.search(r"task_\w+", str(failed.value)).group(0)
    lines = task_log()
    changes = [line for line in lines if line.startswith(f"Run {task_id} is ")]
    # Each state once, with the service's status name; its phases (preparing, serving, running,
    # uploading) within one state make no line each.
    assert 1 <= len(changes) <= 2 and polls(emulator, "inference_sh") > 5, changes
    assert all(
        re.fullmatch(rf"Run {task_id} is (QUEUED|RUNNING) \(status \d+: [a-z_]+\)", c) for c in changes
    )
    assert len({c.split(" (")[0] for c in changes}) == len(changes), changes
    quoted = [line for line in lines if line.startswith(f"The end of run {task_id}'s log:")]
    assert len(quoted) == 1, lines
    tail = quoted[0].split("\n")[1:]
    assert len(tail) == TAIL_LINES and tail[-1] == "error: CUDA out of memory"
    assert "step 0" not in tail and "calling the model with key ***" in tail
    assert all(TEST_KEY not in line for line in lines)
    summary = [line for line in lines if line.startswith(f"Run {task_id} ended FAILED")]
    assert len(summary) == 1 and summary[0].endswith(": CUDA out of memory"), lines


@pytest.mark.parametrize("path", PATHS)
def test_unreadable_logs_change_nothing_about_the_failure(emulator, task_log, path):
    with pytest.raises(RunFailedError) as readable:
        run(failing_task(), path)
    emulator.control.add_faults([{"kind": "status", "status": 404, "path_regex": r"/tasks/[^/]+/logs"}])
    with pytest.raises(RunFailedError) as unreadable:
        run(failing_task(), path)
    assert type(unreadable.value) is type(readable.value)
    same = re.compile(r"task_\w+")
    assert same.sub("T", str(unreadable.value)) == same.sub("T", str(readable.value))
    assert sum("could not be read" in line for line in task_log()) == 1
