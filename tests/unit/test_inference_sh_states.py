"""The inference.sh state table, row by row, under every numbering."""

from __future__ import annotations

import pytest

from airflow_provider_runs.core.states import RunState
from airflow_provider_runs.hooks.inference_sh import interpret_status, needs_full_task

Q, R, S, F, C, U = (
    RunState.QUEUED,
    RunState.RUNNING,
    RunState.SUCCEEDED,
    RunState.FAILED,
    RunState.CANCELLED,
    RunState.UNKNOWN,
)

# (code, error text, expected under current, legacy, auto)
CODE_ROWS = [
    (0, "", U, U, U),
    (1, "", Q, Q, Q),
    (2, "", Q, Q, Q),
    (3, "", Q, Q, Q),
    (4, "", R, R, R),
    (5, "", R, R, R),
    (6, "", R, R, R),
    (7, "", R, R, R),
    (8, "", R, R, R),  # cancelling now, uploading before
    (9, "", R, S, R),  # uploading now, completed before
    (10, "", S, F, S),  # completed now; legacy failed
    (10, "boom", S, F, F),  # auto: an error text means the legacy 'failed'
    (11, "boom", F, C, F),
    (11, "", F, C, C),  # auto: no error text means the legacy 'cancelled'
    (12, "", C, C, C),
    (13, "", F, F, F),
    (42, "", U, U, U),
]


@pytest.mark.parametrize(("code", "error", "current", "legacy", "auto"), CODE_ROWS)
def test_integer_codes(code, error, current, legacy, auto):
    assert interpret_status(code, error=error, numbering="current").state is current
    assert interpret_status(code, error=error, numbering="legacy").state is legacy
    assert interpret_status(code, error=error, numbering="auto").state is auto


NAME_ROWS = [
    ("unknown", U),
    ("received", Q),
    ("queued", Q),
    ("scheduled", Q),
    ("dispatched", Q),
    ("preparing", R),
    ("serving", R),
    ("setting_up", R),
    ("running", R),
    ("cancelling", R),
    ("uploading", R),
    ("completed", S),
    ("failed", F),
    ("cancelled", C),
    ("rejected", F),
    ("brand_new_state", U),
]


@pytest.mark.parametrize(("name", "state"), NAME_ROWS)
@pytest.mark.parametrize("numbering", ["auto", "legacy", "current"])
def test_names_win_over_numbering(name, state, numbering):
    assert interpret_status(name, numbering=numbering).state is state
    # status_text beats an integer that would mean something else
    assert interpret_status(9, status_text=name, numbering=numbering).state is state


def test_numeric_strings_are_codes():
    assert interpret_status("10", numbering="current").state is S
    assert interpret_status("9", numbering="legacy").state is S


def test_auto_nine_carries_a_legacy_hint():
    status = interpret_status(9, numbering="auto")
    assert "legacy" in status.details["note"]


def test_rejected_has_a_reason():
    assert "rejected" in interpret_status(13, numbering="current").message


@pytest.mark.parametrize("value", [None, True, 3.5, {"a": 1}, []])
def test_unreadable_values_are_unknown(value):
    assert interpret_status(value).state is U


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (7, None, False),
        (9, None, True),
        (10, None, True),
        (13, None, True),
        ("running", None, False),
        ("completed", None, True),
        (7, "completed", True),
        (0, None, False),
    ],
)
def test_needs_full_task(status, text, expected):
    assert needs_full_task(status, text) is expected
