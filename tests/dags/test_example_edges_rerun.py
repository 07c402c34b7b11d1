"""The rerun-failed-inputs example runs end to end with ``dag.test()`` against the emulator: the
first batch loses 3% of its inputs, the rerun sends exactly those and the counts merge."""

from __future__ import annotations

import json
from pathlib import Path

from dag_runs import task_states, xcom_result


def test_rerun_failed_example(run_dag, runs_emulator_env, edges_example_dir, monkeypatch):
    monkeypatch.setenv("EDGES_RERUN_EXAMPLE_ROWS", "1000")
    # the first launch loses 3% of its inputs to a real failure ("no data" outcomes are successes)
    runs_emulator_env.control.set_scenario(
        {"fail_share": 0.03, "error_label": "GENERIC_ERROR"}, count=1, service="edges"
    )
    dag_run = run_dag("example_edges_rerun_failed")
    assert task_states(dag_run) == {
        "export_profiles": "success",
        "enrich_profiles": "success",
        "rerun_failed_inputs": "success",
        "report": "success",
    }
    first = xcom_result(dag_run, "enrich_profiles")
    rerun = xcom_result(dag_run, "rerun_failed_inputs")
    failed = first["failed_inputs"]
    assert 0 < failed < 1000 and first["status"] == "PARTIAL_SUCCEEDED"
    assert rerun["sent_inputs"] == rerun["inputs"] == failed and rerun["status"] == "SUCCEEDED"
    assert rerun["merged"] == {"inputs": 1000, "succeeded_inputs": 1000, "failed_inputs": 0, "results": 1000}
    counters = runs_emulator_env.control.counters()["edges"]
    assert counters["runs_created"] == 2 and counters["inputs_received"] == 1000 + failed
    # the rerun's results sit beside the first ones and hold exactly the failed inputs
    failed_ids = {
        json.loads(line)["custom_data"]["crm_id"]
        for line in Path(first["failed_inputs_path"]).read_text().splitlines()
    }
    again = [json.loads(line) for line in Path(rerun["output_path"]).read_text().splitlines()]
    assert rerun["output_path"] == first["output_path"].replace(".jsonl", ".rerun-1.jsonl")
    assert {row["custom_data"]["crm_id"] for row in again} == failed_ids
    assert xcom_result(dag_run, "rerun_failed_inputs", key="run_url").endswith(rerun["run_uid"])
    assert xcom_result(dag_run, "report")["merged_failed_inputs"] == 0
