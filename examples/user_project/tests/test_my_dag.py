"""Run the DAG file end to end with dag.test() against the provider's emulator (no network)."""

from pathlib import Path

DAG_FILE = Path(__file__).parents[1] / "dags" / "my_dag.py"


def test_greeting_headline(runs_dag_test, runs_emulator):
    """The app runs once on the emulator and its output reaches the next task."""
    result = runs_dag_test(DAG_FILE, run_conf={"text": "good morning"})

    assert result.state == "success", result.task_states
    assert result.task_states == {"shout": "success", "headline": "success"}
    assert result.return_values["shout"]["output"] == {"text": "GOOD MORNING"}
    assert result.return_values["headline"] == "** GOOD MORNING **"
    assert result.xcom("shout", key="run_id") == result.return_values["shout"]["run_id"]
    assert runs_emulator.control.counters()["inference_sh"]["tasks_created"] == 1
