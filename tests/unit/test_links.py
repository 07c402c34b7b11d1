"""The "Run" link: the run's page in each service's web app (hosted, or the emulator's stand-in
page, fetched over real HTTP), the connection's override, and no XCom look-up (so no error log)
for a task that published no link."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_provider_runs import links
from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.inferable import InferableHook
from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.links import RUN_URL_XCOM_KEY, RunLink
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.testing.emulator.inferable_api.settings import DEFAULT_CLUSTER

from support import make_context

PROFILE = {"linkedin_profile_url": "https://www.linkedin.com/in/jdoe"}


def connect(monkeypatch, conn_type: str, host: str, **extra) -> None:
    conn = {"conn_type": conn_type, "host": host, "password": "k", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_type.upper()}_DEFAULT", json.dumps(conn))


# -- the URLs -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("https://api.inference.sh", "https://app.inference.sh/tasks/t%3F1"),
        ("https://gateway.example/inference", "https://app.inference.sh/tasks/t%3F1"),  # a proxy
        ("http://127.0.0.1:9/inference-sh", "http://127.0.0.1:9/inference-sh/app/tasks/t%3F1"),
    ],
)
def test_inference_sh_links_to_the_task_page(monkeypatch, host, expected):
    connect(monkeypatch, "inference_sh", host)
    assert InferenceShHook().run_url("t?1") == expected


@pytest.mark.parametrize(
    ("host", "run", "schedule"),
    [
        ("https://api.edges.run/v1", "https://app.edges.run/runs/a", "https://app.edges.run/schedules/s"),
        ("https://edges.example/v1", "https://app.edges.run/runs/a", "https://app.edges.run/schedules/s"),
        (
            "http://localhost:8/edges/v1/",
            "http://localhost:8/edges/v1/app/runs/a",
            "http://localhost:8/edges/v1/app/schedules/s",
        ),
    ],
)
def test_edges_links_to_the_run_and_schedule_pages(monkeypatch, host, run, schedule):
    connect(monkeypatch, "edges", host)
    hook = EdgesHook()
    assert hook.run_url("a") == hook.run_url("a,b,c") == run  # a run group: its first run
    assert hook.schedule_url("s") == schedule


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("https://api.inferable.ai", "https://app.inferable.ai/clusters/c%201/runs/r1"),
        ("http://127.0.0.1:9/inferable", "http://127.0.0.1:9/inferable/app/clusters/c%201/runs/r1"),
    ],
)
def test_inferable_links_to_the_console_run_page(monkeypatch, host, expected):
    connect(monkeypatch, "inferable", host, cluster_id="c 1")
    assert InferableHook().run_url("r1") == expected


def test_the_connection_template_overrides_the_page(monkeypatch):
    connect(monkeypatch, "inference_sh", "https://api.inference.sh", run_url_template="https://ui/{run_id}")
    assert InferenceShHook().run_url("t1") == "https://ui/t1"


# -- the extra link -----------------------------------------------------------------------------
@pytest.fixture
def no_xcom_lookup(monkeypatch):
    """XCom look-ups fail the test (a missing XCom is logged as an error by Airflow)."""

    def refuse(**kwargs):
        raise AssertionError(f"looked up XCom {kwargs}")

    monkeypatch.setattr(links.XCom, "get_value", refuse)


class Task:
    """Stands in for an operator as the link sees it."""

    def __init__(self, run_id: str | None = None) -> None:
        self._run_id = run_id


def test_a_task_without_a_run_has_an_empty_link_and_no_lookup(no_xcom_lookup):
    assert RunLink().get_link(Task(), ti_key=object()) == ""
    assert RunLink().get_link(object(), ti_key=object()) == ""


def test_a_published_url_is_the_link_without_a_lookup(no_xcom_lookup):
    task, context = Task(), make_context()
    links.publish_run_url(task, context, "https://app/runs/1")
    assert context["ti"].xcoms[RUN_URL_XCOM_KEY] == "https://app/runs/1"
    assert RunLink().get_link(task, ti_key=object()) == "https://app/runs/1"


def test_a_resumed_task_reads_its_url_from_xcom(monkeypatch):
    key = object()
    seen = {}

    def get_value(*, ti_key, key):
        seen.update(ti_key=ti_key, key=key)
        return "https://app/runs/7"

    monkeypatch.setattr(links.XCom, "get_value", get_value)
    assert RunLink().get_link(Task("7"), ti_key=key) == "https://app/runs/7"
    assert seen == {"ti_key": key, "key": RUN_URL_XCOM_KEY}


# -- the emulator serves the pages (real HTTP, no key sent) ---------------------------------
@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(edges_input_seconds=0.01)


@pytest.fixture
def emu(server, monkeypatch):
    yield from server.fresh(
        monkeypatch,
        inference_sh_default=server.connection("inference_sh"),
        inferable_default=server.connection("inferable", cluster_id=DEFAULT_CLUSTER),
        edges_default=server.connection("edges", identity_mode="managed"),
    )


def assert_page(url: str, emu, *texts: str) -> None:
    assert url.startswith(emu.url), url
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    for text in texts:
        assert text in answer.text, (text, answer.text)


def test_the_default_links_open_emulator_pages(emu):
    hook = InferenceShHook()
    task_id = hook.run_task("acme/echo@v1", {"text": "hi"})["id"]
    assert_page(hook.run_url(task_id), emu, task_id)

    inferable = InferableHook()
    run_id = inferable.create_run(initial_prompt="Count open tickets")["id"]
    assert_page(inferable.run_url(run_id), emu, run_id)

    edges = EdgesHook()
    uid = edges.run_async("linkedin-extract-people", [PROFILE])["run_uid"]
    assert_page(edges.run_url(uid), emu, uid)


def test_the_api_url_would_refuse_a_browser(emu):
    """What the link used to be: the API answers a request without a key with a 401."""
    task_id = InferenceShHook().run_task("acme/echo@v1", {"text": "hi"})["id"]
    assert requests.get(f"{emu.service_url('inference_sh')}/tasks/{task_id}", timeout=10).status_code == 401


def test_an_unknown_run_has_a_not_found_page(emu):
    answer = requests.get(EdgesHook().run_url("no-such-run"), timeout=10)
    assert answer.status_code == 404 and "no-such-run" in answer.text
    assert answer.headers["content-type"].startswith("text/html")


def test_a_schedule_task_links_to_its_schedule_page(emu, no_xcom_lookup):
    op = EdgesActionOperator(
        task_id="weekly",
        action="linkedin-extract-people",
        mode="schedule",
        inputs=[PROFILE],
        cron="0 6 * * 1",
    )
    context = make_context(dag_id="dag", run_id="manual__1")
    manifest = op.execute(context)
    url = RunLink().get_link(op, ti_key=object())
    assert url == context["ti"].xcoms[RUN_URL_XCOM_KEY] == EdgesHook().schedule_url(manifest["schedule_uid"])
    assert_page(url, emu, manifest["schedule_uid"], "0 6 * * 1")


def test_a_live_task_has_no_link_and_no_lookup(emu, no_xcom_lookup):
    op = EdgesActionOperator(task_id="live", action="linkedin-extract-people", mode="live", input=PROFILE)
    context = make_context(dag_id="dag", run_id="manual__1")
    assert op.execute(context)
    assert RunLink().get_link(op, ti_key=object()) == "" and RUN_URL_XCOM_KEY not in context["ti"].xcoms
