"""The bad-input catalogue: every case fails with the expected error; docs/errors.md is current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .cases import CASES, connection_env, emulator_config, render_markdown, run_case

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


@pytest.fixture(scope="module")
def results(emulator_factory):
    server = emulator_factory(emulator_config())
    with pytest.MonkeyPatch.context() as mp:
        for key, value in connection_env(server).items():
            mp.setenv(key, value)
        out = {}
        for case in CASES:
            server.control.reset()
            try:
                error, message = run_case(case, server)
            except AssertionError as exc:  # the case did not fail: its own test reports it
                error, message = "no error", str(exc)
            out[case.id] = (error, message, server.control.counters()["requests_total"])
    return out


def test_at_least_forty_cases():
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)
    assert {c.service for c in CASES} == {"inference.sh", "Inferable", "Edges"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(results, case):
    error, message, requests = results[case.id]
    assert error == case.error, (error, message)
    assert re.search(case.match, message), message
    if case.local:
        assert requests == 0, f"{case.id}: {requests} HTTP requests before the local check failed"


def test_docs_are_generated_from_the_cases(results):
    expected = render_markdown([(case, *results[case.id][:2]) for case in CASES])
    assert DOC.read_text() == expected, (
        "docs/errors.md is out of date: run `python scripts/gen_errors_doc.py`"
    )
