"""The pure logic of rerunning failed Edges inputs: which inputs failed, what is sent again, where
the rerun's files go, merged counts, and the source arguments (no HTTP)."""

from __future__ import annotations

import pytest

from airflow_provider_runs.operators.edges_failed_inputs import (
    FAILED,
    NO_DATA,
    SUCCEEDED,
    Counts,
    Scan,
    input_outcome,
    merge,
    rerun_input,
    rerun_number_of,
    rerun_path,
)
from airflow_provider_runs.operators.edges_rerun_source import FirstRun, check_source, parse_manifest


def row(status, label=None, **extra):
    error = {"label": label, "message": "m"} if label else None
    return {"uid": "u", "status": status, "input_data": {"url": "x"}, "last_error": error, **extra}


@pytest.mark.parametrize(
    ("item", "outcome"),
    [
        (row("SUCCEEDED"), SUCCEEDED),
        (row("FAILED", "GENERIC_ERROR"), FAILED),
        (row("FAILED"), FAILED),
        (row("FAILED", "NO_RESULT"), NO_DATA),  # spec §3: "no data" is a success since 2026-02
        (row("FAILED", "STATUS_404"), NO_DATA),
        (row("BLOCKED", "LIMIT_REACHED"), FAILED),
        (row("BLOCKED", "NO_RESULT"), FAILED),  # only a FAILED input with those labels ran
        (row("STOPPED"), FAILED),
        (row("RUNNING"), FAILED),
        (row("QUEUED"), FAILED),
        (row("CREATED"), FAILED),
        (row("SCHEDULED"), FAILED),
        (row("SOMETHING_NEW"), FAILED),
        ({"status": "failed", "error": {"label": "no_result"}}, FAILED),  # labels are exact
        ({"status": "FAILED", "error": {"label": "NO_RESULT"}}, NO_DATA),  # a file record
        ({"linkedin_profile_url": "x"}, FAILED),  # a plain input in a hand-written file
    ],
)
def test_input_outcome(item, outcome):
    assert input_outcome(item) == outcome


def test_rerun_input_keeps_custom_data():
    assert rerun_input(row("FAILED", custom_data={"crm": 1})) == {"url": "x", "custom_data": {"crm": 1}}
    record = {"uid": "u", "status": "FAILED", "input": {"url": "y"}, "custom_data": None, "error": None}
    assert rerun_input(record) == {"url": "y"}
    assert rerun_input({"url": "z", "custom_data": {"a": 1}}) == {"url": "z", "custom_data": {"a": 1}}
    with pytest.raises(ValueError, match="carries no input"):
        rerun_input({"uid": "u", "status": "FAILED", "error": None})


@pytest.mark.parametrize(
    ("path", "number", "expected"),
    [
        ("/data/out.jsonl", 1, "/data/out.rerun-1.jsonl"),
        ("/data/out.rerun-1.jsonl", 2, "/data/out.rerun-2.jsonl"),
        ("s3://bucket/2026/out.jsonl", 3, "s3://bucket/2026/out.rerun-3.jsonl"),
        ("out", 1, "out.rerun-1"),
        ("/d.x/out", 1, "/d.x/out.rerun-1"),
        ("/data/.hidden", 1, "/data/.hidden.rerun-1"),
        (None, 1, None),
    ],
)
def test_rerun_path(path, number, expected):
    assert rerun_path(path, number) == expected


def test_rerun_number_of():
    assert rerun_number_of("/d/failed.rerun-4.jsonl") == 4
    assert rerun_number_of("/d/failed.jsonl") == 0
    assert rerun_number_of(None) == 0


def test_merge_counts():
    first = Counts(inputs=10_000, succeeded=9_700, failed=300, results=9_700)
    rerun = Counts(inputs=300, succeeded=290, failed=10, results=290)
    assert merge(first, 300, rerun) == Counts(10_000, 9_990, 10, 9_990)
    unknown = Counts(inputs=None, succeeded=None, failed=300, results=None)
    assert merge(unknown, 300, rerun) == Counts(None, None, 10, None)


def test_scan_counts():
    scan = Scan()
    for outcome in (SUCCEEDED, NO_DATA, FAILED, FAILED):
        scan.add(outcome)
    assert scan.as_dict() == {"total": 4, "succeeded": 1, "no_data": 1, "failed": 2}


def test_first_run_counts_and_chain_baseline():
    first = FirstRun(run_uid="u", inputs=100, failed=3, no_data=2, results=97)
    assert first.counts() == Counts(100, 97, 3, 97)
    assert first.summary()["succeeded_inputs"] == 97 and first.summary()["no_data_inputs"] == 2
    merged = {"inputs": 100, "succeeded_inputs": 99, "failed_inputs": 1, "results": 99}
    chained = FirstRun(run_uid="r", inputs=3, failed=1, baseline=merged, rerun=2)
    assert chained.counts() == Counts(100, 99, 1, 99)
    assert FirstRun.from_dict({**chained.as_dict(), "unknown": 1}) == chained


def test_parse_manifest_accepts_json_and_a_rendered_dict():
    assert parse_manifest('{"run_uid": "a"}') == {"run_uid": "a"}
    assert parse_manifest("{'run_uid': 'a', 'results': 3}") == {"run_uid": "a", "results": 3}
    assert parse_manifest({"run_id": "b"}) == {"run_id": "b"}
    with pytest.raises(ValueError, match="names no run"):
        parse_manifest({"status": "SUCCEEDED"})
    with pytest.raises(ValueError, match="got list"):
        parse_manifest([1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "got none"),
        ({"run_uid": "a", "manifest": {"run_uid": "b"}}, "got run_uid, manifest"),
        ({"run_uid": "a b/"}, "run_uid"),
        ({"run_uid": "a,,b/c"}, "run_uid"),
        ({"manifest": {"run_uid": "../x"}}, "manifest"),
        ({"source_task_id": 3}, "source_task_id must be a task id"),
        ({"failed_inputs_path": "/x.jsonl"}, "action is required"),
        ({"failed_inputs_path": 5, "action": "a"}, "failed_inputs_path must be a file path"),
    ],
)
def test_check_source(kwargs, message):
    args = {
        "run_uid": None,
        "manifest": None,
        "source_task_id": None,
        "failed_inputs_path": None,
        "action": None,
    }
    with pytest.raises(ValueError, match=message):
        check_source(**{**args, **kwargs})


def test_check_source_accepts_a_split_batch_and_each_source():
    base = {
        "run_uid": None,
        "manifest": None,
        "source_task_id": None,
        "failed_inputs_path": None,
        "action": None,
    }
    check_source(**{**base, "run_uid": "a1,b2"})
    check_source(**{**base, "manifest": '{"run_uid": "a1"}'})
    check_source(**{**base, "source_task_id": "enrich"})
    check_source(**{**base, "failed_inputs_path": "/x.jsonl", "action": "linkedin-extract-people"})
