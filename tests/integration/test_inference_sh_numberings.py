"""Both status numberings (and status names) through both paths, row by row.

A server speaking the legacy numbering (9 completed, 10 failed, 11 cancelled) is read right by a
``legacy`` connection; under ``auto`` its completed tasks stay at 9 and time out with a hint;
a server sending names is read by name whatever the connection says.
"""

from __future__ import annotations

import pytest

from airflow_provider_runs.operators.base import RunFailedError
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

from emulation import started_emulator
from support import TEST_KEY, make_context, run_deferrable

PATHS = ["deferrable", "worker"]


@pytest.fixture(scope="module")
def legacy_server(emulator_factory):
    return emulator_factory(
        inference_sh_api_keys=[TEST_KEY], inference_sh_status_numbering="legacy", default_task_duration=0.3
    )


@pytest.fixture(scope="module")
def names_server(emulator_factory):
    return emulator_factory(
        inference_sh_api_keys=[TEST_KEY], inference_sh_status_names=True, default_task_duration=0.3
    )


@pytest.fixture
def legacy(legacy_server, monkeypatch):
    yield from legacy_server.fresh(
        monkeypatch,
        inference_sh_legacy=legacy_server.connection("inference_sh", status_numbering="legacy"),
        inference_sh_auto=legacy_server.connection("inference_sh", status_numbering="auto"),
    )


@pytest.fixture
def names(names_server, monkeypatch):
    yield from names_server.fresh(
        monkeypatch, inference_sh_names=names_server.connection("inference_sh", status_numbering="legacy")
    )


def run(path, **kwargs):
    defaults = {
        "task_id": "t",
        "app": "acme/echo@v1",
        "poll_interval": 0.05,
        "deferrable": path == "deferrable",
    }
    op = InferenceShTaskOperator(**{**defaults, **kwargs})
    context = make_context()
    return run_deferrable(op, context) if op.deferrable else op.execute(context)


LEGACY_TERMINAL = [("completed", 9, None), ("failed", 10, "failed"), ("cancelled", 11, "was cancelled")]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("outcome", "code", "failure"), LEGACY_TERMINAL)
def test_legacy_terminal_rows(legacy, path, outcome, code, failure):
    kwargs = {
        "inference_sh_conn_id": "inference_sh_legacy",
        "input": {"text": outcome, "_emulator": {"outcome": outcome}},
    }
    if failure is None:
        manifest = run(path, **kwargs)
        assert manifest["status"] == "completed" and manifest["output"]["text"] == outcome
        return
    with pytest.raises(RunFailedError, match=rf"{failure} \(status {code}\)"):
        run(path, **kwargs)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("code", [0, 1, 2, 3, 4, 5, 6, 7, 8])
def test_legacy_non_terminal_rows(legacy, path, code):
    scenario = {"status_sequence": [[code, 60]], "outcome": "stuck"}
    with pytest.raises(RunFailedError, match=rf"last status {code}\b"):
        run(
            path,
            inference_sh_conn_id="inference_sh_legacy",
            input={"text": "x", "_emulator": scenario},
            timeout=0.5,
        )


@pytest.mark.parametrize("path", PATHS)
def test_legacy_rejected_is_a_failure(legacy, path):
    with pytest.raises(RunFailedError, match="failed"):
        run(
            path,
            inference_sh_conn_id="inference_sh_legacy",
            input={"text": "r", "_emulator": {"outcome": "rejected"}},
        )


@pytest.mark.parametrize("path", PATHS)
def test_auto_on_a_legacy_server(legacy, path):
    """Under auto, 10 with an error and 11 are failures; a legacy 'completed' (9) times out with a hint."""
    with pytest.raises(RunFailedError, match=r"status 10"):
        run(
            path,
            inference_sh_conn_id="inference_sh_auto",
            input={"text": "f", "_emulator": {"outcome": "failed"}},
        )
    with pytest.raises(RunFailedError, match=r"status 11"):
        run(
            path,
            inference_sh_conn_id="inference_sh_auto",
            input={"text": "c", "_emulator": {"outcome": "cancelled"}},
        )
    with pytest.raises(RunFailedError, match="status_numbering to 'legacy'"):
        run(path, inference_sh_conn_id="inference_sh_auto", input={"text": "ok"}, timeout=1.5)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("outcome", "failure"),
    [("completed", None), ("failed", "failed"), ("cancelled", "cancelled"), ("rejected", "failed")],
)
def test_names_win_over_the_connection_numbering(names, path, outcome, failure):
    kwargs = {
        "inference_sh_conn_id": "inference_sh_names",
        "input": {"text": outcome, "_emulator": {"outcome": outcome}},
    }
    if failure is None:
        assert run(path, **kwargs)["status"] == "completed"
        return
    with pytest.raises(RunFailedError, match=failure):
        run(path, **kwargs)


@pytest.mark.parametrize("envelope", ["v1", "v2"])
def test_other_envelopes(envelope, monkeypatch):
    with started_emulator(
        inference_sh_api_keys=[TEST_KEY], inference_sh_envelope=envelope, default_task_duration=0.2
    ) as server:
        monkeypatch.setenv("AIRFLOW_CONN_INFERENCE_SH_ENV", server.connection("inference_sh"))
        manifest = run("worker", inference_sh_conn_id="inference_sh_env", input={"text": envelope})
        assert manifest["output"] == {"text": envelope}
        with pytest.raises(Exception, match="404"):
            run("worker", inference_sh_conn_id="inference_sh_env", app="acme/none@v1", input={"text": "x"})
