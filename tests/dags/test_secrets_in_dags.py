"""The API key stays out of rendered template fields, XCom and task logs in a real dag.test() run."""

from __future__ import annotations

import json
from datetime import datetime

from dag_runs import serialize_dag

from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator


def all_xcoms(dag_run) -> dict[tuple[str, str], str]:
    """``{(task_id, key): stored value and deserialized value as text}`` of every XCom of the run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(XComModel).where(XComModel.dag_id == dag_run.dag_id, XComModel.run_id == dag_run.run_id)
        ).all()
        return {
            (
                row.task_id,
                row.key,
            ): f"{row.value!s} {json.dumps(XComModel.deserialize_value(row), default=str)}"
            for row in rows
        }


def test_key_is_masked_everywhere(runs_airflow_db, runs_emulator_env, capfd):
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.providers.common.compat.sdk import DAG
    from airflow.utils.session import create_session

    key = runs_emulator_env.config.inference_sh_api_keys[0]
    with DAG(dag_id="secrets_probe", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        InferenceShTaskOperator(
            task_id="probe",
            app="acme/echo@v1",
            # a careless template that pulls the key into a rendered field
            input={"text": "key={{ conn.inference_sh_default.password }}"},
            poll_interval=0.2,
            deferrable=True,
        )
    serialize_dag(dag)
    dag_run = dag.test()
    assert str(getattr(dag_run.state, "value", dag_run.state)) == "success"
    with create_session() as session:
        rows = session.query(RenderedTaskInstanceFields).filter_by(dag_id="secrets_probe").all()
        rendered = json.dumps([r.rendered_fields for r in rows])
    assert rows and "key=" in rendered and key not in rendered
    xcoms = all_xcoms(dag_run)
    # the manifest echoes the task's output (the rendered input): it must be there, without the key
    assert {"return_value", "run_id", "run_url"} <= {k for _, k in xcoms}, sorted(xcoms)
    assert "key=" in xcoms[("probe", "return_value")]
    leaked = {where: text for where, text in xcoms.items() if key in text}
    assert not leaked, f"the key is in XCom {sorted(leaked)}"
    captured = capfd.readouterr()
    assert key not in captured.out and key not in captured.err
