"""Every operator and sensor templates its connection id and the string arguments a user may
template (issue 15: Edges ``callback``, identity, ``cron``, ``timezone``; inference.sh ``infra``,
``app_id``, ``version_id``, ``session_timeout``; Inferable ``on_status_change``); one render per
operator and sensor checks that each renders."""

from __future__ import annotations

import pytest

from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.inferable import InferableRunOperator
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator, rendered_int
from airflow_provider_runs.sensors.edges import EdgesRunSensor
from airflow_provider_runs.sensors.inferable import InferableRunSensor
from airflow_provider_runs.sensors.inference_sh import InferenceShTaskSensor
from airflow_provider_runs.services import BUILT_IN

TEMPLATED = {
    EdgesActionOperator: {
        "action", "input", "inputs", "inputs_path", "parameters", "output_path", "failed_inputs_path",
        "schedule_at", "cron", "timezone", "callback", "identity_mode", "identity_ids", "edges_conn_id",
    },
    EdgesRunSensor: {"run_id", "edges_conn_id"},
    InferenceShTaskOperator: {
        "app", "input", "function", "setup", "workers", "webhook", "session", "run_at", "metadata",
        "output_path", "app_id", "version_id", "infra", "session_timeout", "inference_sh_conn_id",
    },
    InferenceShTaskSensor: {"run_id", "output_path", "inference_sh_conn_id"},
    InferableRunOperator: {
        "initial_prompt", "system_prompt", "name", "input", "context", "tools", "inferable_run_id",
        "on_status_change", "inferable_conn_id", "cluster_id",
    },
    InferableRunSensor: {"run_id", "inferable_conn_id", "cluster_id"},
}  # fmt: skip
PARAMS = {
    "action": "linkedin-extract-people",
    "conn": "my_conn",
    "cron": "0 6 * * 1",
    "tz": "Europe/Paris",
    "url": "https://hooks.example/edges",
    "identity": "idt_123",
    "infra": "private",
    "app_id": "app_1",
    "version_id": "ver_1",
    "timeout": 600,
    "cluster": "01JCLUSTER",
    "run": "run-7",
}


def render(task):
    task.render_template_fields({"params": PARAMS, "ds": "2026-12-01"})
    return task


def test_every_built_in_operator_and_sensor_module_has_its_classes_checked():
    modules = {m for service in BUILT_IN for m in (*service.operators, *service.sensors)}
    assert {cls.__module__ for cls in TEMPLATED} <= modules


@pytest.mark.parametrize("cls", list(TEMPLATED), ids=lambda c: c.__name__)
def test_template_fields(cls):
    fields = set(cls.template_fields)
    assert TEMPLATED[cls] <= fields, TEMPLATED[cls] - fields
    assert cls.conn_id_field in fields  # the connection id is templated everywhere
    assert len(cls.template_fields) == len(fields)  # none listed twice


def test_edges_operator_renders():
    task = render(
        EdgesActionOperator(
            task_id="t", action="{{ params.action }}", mode="schedule", inputs=[{"x": "{{ ds }}"}],
            cron="{{ params.cron }}", timezone="{{ params.tz }}",
            callback={"url": "{{ params.url }}", "on": ["SUCCEEDED"]},
            identity_mode="{{ 'direct' }}", identity_ids=["{{ params.identity }}"],
            edges_conn_id="{{ params.conn }}",
        )
    )  # fmt: skip
    assert (task.action, task.cron, task.timezone) == (PARAMS["action"], PARAMS["cron"], PARAMS["tz"])
    assert task.callback == {"url": PARAMS["url"], "on": ["SUCCEEDED"]}
    assert (task.identity_mode, task.identity_ids) == ("direct", [PARAMS["identity"]])
    assert task.edges_conn_id == task.conn_id == "my_conn" and task.inputs == [{"x": "2026-12-01"}]


def test_edges_callback_rendered_as_json_text_is_read():
    task = EdgesActionOperator(
        task_id="t", action="a", inputs=[{}], callback='{"url": "https://h.example/x"}'
    )
    task.validate_arguments()
    assert task.callback == {"url": "https://h.example/x"}


def test_edges_sensor_renders():
    task = render(EdgesRunSensor(task_id="s", run_id="{{ params.run }}", edges_conn_id="{{ params.conn }}"))
    assert (task.run_id, task.conn_id) == ("run-7", "my_conn")


def test_inference_sh_operator_renders():
    task = render(
        InferenceShTaskOperator(
            task_id="t", app_id="{{ params.app_id }}", version_id="{{ params.version_id }}",
            infra="{{ params.infra }}", session="new", session_timeout="{{ params.timeout }}",
            inference_sh_conn_id="{{ params.conn }}",
        )
    )  # fmt: skip
    assert (task.app_id, task.version_id, task.infra) == ("app_1", "ver_1", "private")
    assert task.conn_id == "my_conn" and task.session_timeout == "600"
    assert task._request_kwargs()["session_timeout"] == 600  # the rendered text is read as the number
    task.validate_arguments()  # and passes the request checks


def test_rendered_int_keeps_what_is_not_digits():
    assert rendered_int(" 42 ") == 42 and rendered_int(7) == 7 and rendered_int("x") == "x"


def test_inference_sh_sensor_renders():
    task = render(
        InferenceShTaskSensor(
            task_id="s", run_id="task_{{ params.run }}", inference_sh_conn_id="{{ params.conn }}"
        )
    )
    assert (task.run_id, task.conn_id) == ("task_run-7", "my_conn")


def test_inferable_operator_renders():
    task = render(
        InferableRunOperator(
            task_id="a", initial_prompt="Count {{ ds }}", inferable_conn_id="{{ params.conn }}",
            cluster_id="{{ params.cluster }}",
            on_status_change={"type": "webhook", "webhook": "{{ params.url }}", "statuses": ["done"]},
        )
    )  # fmt: skip
    assert task.conn_id == "my_conn" and task.cluster_id == "01JCLUSTER"
    assert task.on_status_change == {"type": "webhook", "webhook": PARAMS["url"], "statuses": ["done"]}
    assert task.hook_params() == {"cluster_id": "01JCLUSTER"}
    assert task._run_fields("id-1")["on_status_change"]["webhook"] == PARAMS["url"]


def test_inferable_sensor_renders():
    task = render(
        InferableRunSensor(
            task_id="s", run_id="{{ params.run }}", inferable_conn_id="{{ params.conn }}",
            cluster_id="{{ params.cluster }}",
        )
    )  # fmt: skip
    assert (task.run_id, task.conn_id, task.cluster_id) == ("run-7", "my_conn", "01JCLUSTER")
