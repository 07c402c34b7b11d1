"""The soak, reduced (``make soak`` runs 1,000 tasks): exact counts under injected faults."""

from __future__ import annotations

import os

import pytest

from airflow_provider_runs.testing.emulator.server import start_emulator_process, stop_emulator_process
from soak.driver import run_soak

pytestmark = [pytest.mark.timeout(600), pytest.mark.soak]

SOAK_RUNS = int(os.environ.get("SOAK_RUNS", "45"))


@pytest.fixture(scope="module")
def emulator_url():
    proc, url = start_emulator_process(["--seed", "7"])
    try:
        yield url
    finally:
        stop_emulator_process(proc)


def test_reduced_soak_is_exact(emulator_url):
    report = run_soak(emulator_url, SOAK_RUNS, seed=11, crash_share=0.15, hostile_share=0.04, pair_share=0.3)
    print({k: v for k, v in report.__dict__.items() if k != "created_per_group"})
    assert sum(report.created_per_group.values()) == SOAK_RUNS + report.new_runs_after_failure
    assert (report.duplicates, report.lost, report.wrong_outcomes, report.errors) == (0, 0, 0, [])
    assert (report.runs_shared, report.requests_at_foreign_host, report.keys_leaked) == (0, 0, 0)
    assert report.identical_pairs > 0 and 0 < report.tasks_on_3_1_path < SOAK_RUNS
    assert report.trigger_restarts == 1 and 0 < report.events_before_restart < SOAK_RUNS
    assert report.crashes_after_create > 0 and report.retried_tries >= report.crashes_after_create
    injected = report.faults_injected
    assert injected["429"] and injected["500"] and injected["503"] and injected["drop"], injected
    hostile = ("redirect", "drip", "huge", "retry_after=600", "retry_after=inf", "retry_after=1e12")
    assert all(injected.get(kind) for kind in hostile), injected
