"""Issue 11 (5, 6): a retry never creates a second run because reading the first one failed
transiently, and a look-up never adopts a run another task instance owns.

Real HTTP to the emulator. "store" runs the Airflow 3.3 path (task state store); "no-store" the
Airflow 3.1 path (no store: the retry looks its run up at the service).
"""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_runs.core.errors import RunsApiError
from airflow_provider_runs.links import RUN_ID_XCOM_KEY
from airflow_provider_runs.operators.claims import CLAIM_XCOM_KEY
from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

from support import FakeStateStore, SiblingTI, XComTable, crash_at_run_id
from support import task_context as ctx

STORES = ["store", "no-store"]
STATUS_PATH = r"^/tasks/[^/]+/status$"


def status_fault(status, path_regex=STATUS_PATH, method="GET", **kwargs):
    """A fault rule: ``status`` for the matching inference.sh requests."""
    return {"service": "inference_sh", "method": method, "path_regex": path_regex, "kind": "status",
            "status": status, **kwargs}  # fmt: skip


def crash_at_claim(key, value):
    """Dies at the first push after the create answer (the claim of the run; before claims
    existed, the run id): the task instance created its run but never said so."""
    return key == RUN_ID_XCOM_KEY or (key == CLAIM_XCOM_KEY and bool(value.get("run_id")))


def operator(**kwargs):
    defaults = {"task_id": "t", "app": "acme/echo@v1", "input": {"text": "same"}, "poll_interval": 0.05}
    return InferenceShTaskOperator(**{**defaults, **kwargs})


def counters(emulator):
    return emulator.control.counters()["inference_sh"]


def new_store(kind):
    return FakeStateStore() if kind == "store" else None


# -- 5. reading the earlier run fails transiently: no second run ------------------------------
def first_try_dies_after_create(emulator, table, store, **kwargs):
    with pytest.raises(SystemExit):
        operator(**kwargs).execute(ctx(SiblingTI(table, 1, crash_on=crash_at_run_id), store))
    assert counters(emulator)["tasks_created"] == 1
    return emulator.control.tasks()[0]["id"]


@pytest.mark.parametrize("kind", STORES)
def test_long_retry_after_on_the_read_fails_the_try_without_a_second_run(emulator, kind):
    """A 429 asking for 600 s (never retried by the transport) used to start a second run."""
    table, store = XComTable(), new_store(kind)
    first_try_dies_after_create(emulator, table, store)
    emulator.control.add_faults([status_fault(429, retry_after=600)])
    with pytest.raises(AirflowException) as info:
        operator(timeout=2).execute(ctx(SiblingTI(table, 2), store))
    assert not isinstance(info.value, AirflowFailException)  # Airflow retries the try
    assert "not creating a new run" in str(info.value)
    assert counters(emulator)["tasks_created"] == 1


@pytest.mark.parametrize("kind", STORES)
def test_five_5xx_in_a_row_on_the_read_are_ridden_out(emulator, kind):
    """Five 5xx in a row (the transport's whole budget) used to start a second run."""
    table, store = XComTable(), new_store(kind)
    slow = {"text": "same", "_emulator": {"duration": 1}}
    first = first_try_dies_after_create(emulator, table, store, input=slow)
    emulator.control.add_faults([status_fault(503, count=5)])
    manifest = operator(input=slow).execute(ctx(SiblingTI(table, 2), store))
    assert manifest["task_id"] == first and manifest["output"]["text"] == "same"
    assert counters(emulator)["tasks_created"] == 1


@pytest.mark.parametrize("kind", STORES)
def test_forbidden_read_fails_without_a_second_run(emulator, kind):
    table, store = XComTable(), new_store(kind)
    first_try_dies_after_create(emulator, table, store)
    emulator.control.add_faults([status_fault(403)])
    with pytest.raises((RunsApiError, AirflowException)):
        operator().execute(ctx(SiblingTI(table, 2), store))
    assert counters(emulator)["tasks_created"] == 1


def test_earlier_run_not_found_starts_a_new_one(emulator):
    """404 is definite: the earlier run is gone, a new one is created."""
    table, store = XComTable(), FakeStateStore()
    first_try_dies_after_create(emulator, table, store)
    emulator.control.add_faults([status_fault(404, count=1)])
    manifest = operator().execute(ctx(SiblingTI(table, 2), store))
    assert manifest["output"]["text"] == "same"
    assert counters(emulator)["tasks_created"] == 2


# -- 6. a look-up never adopts another task instance's run ------------------------------------
CREATE_503 = status_fault(503, "/run$", "POST", count=1)


@pytest.mark.parametrize("kind", STORES)
def test_map_1_does_not_adopt_the_run_map_0_claimed(emulator, kind):
    """Map 1's create gets a 503 before the service takes it; map 0's task (same input) is
    claimed by map 0, so map 1 creates its own instead of attaching to it."""
    table = XComTable()
    first = operator().execute(ctx(SiblingTI(table, map_index=0), new_store(kind)))
    emulator.control.add_faults([CREATE_503])
    op1 = operator()
    second = op1.execute(ctx(SiblingTI(table, map_index=1), new_store(kind)))
    assert second["task_id"] != first["task_id"] and second["output"]["text"] == "same"
    assert counters(emulator)["tasks_created"] == 2
    op1.on_kill()  # map 1's kill cancels map 1's run only
    assert op1._run_id == second["task_id"]


@pytest.mark.parametrize("kind", STORES)
def test_map_1_refuses_while_map_0_has_not_published_its_run(emulator, kind):
    """Map 0 created its task but died before claiming it; map 1's create gets a 503. Map 1
    cannot tell whose the task is: it fails the try naming it, adopts nothing, creates nothing,
    cancels nothing. Map 0's retry reattaches; map 1's retry then creates its own run."""
    table, store0, store1 = XComTable(), new_store(kind), new_store(kind)
    with pytest.raises(SystemExit):
        operator().execute(ctx(SiblingTI(table, map_index=0, crash_on=crash_at_claim), store0))
    task0 = emulator.control.tasks()[0]["id"]
    emulator.control.add_faults([CREATE_503])
    op1 = operator()
    with pytest.raises(AirflowException, match=task0) as info:
        op1.execute(ctx(SiblingTI(table, 1, map_index=1), store1))
    assert not isinstance(info.value, AirflowFailException)
    assert op1._run_id is None
    op1.on_kill()
    assert counters(emulator)["tasks_created"] == 1 and counters(emulator)["cancels"] == 0

    manifest0 = operator().execute(ctx(SiblingTI(table, 2, map_index=0), store0))
    manifest1 = operator().execute(ctx(SiblingTI(table, 2, map_index=1), store1))
    assert manifest0["task_id"] == task0
    assert manifest1["task_id"] != task0 and manifest1["output"]["text"] == "same"
    assert counters(emulator)["tasks_created"] == 2 and counters(emulator)["cancels"] == 0


def test_retry_without_store_skips_the_claimed_run_of_a_sibling(emulator):
    """Airflow 3.1: map 1's try 1 died after creating its task, then map 0 created (and claimed)
    a newer task with the same input; map 1's try 2 reattaches to its own, not the newest."""
    table = XComTable()
    with pytest.raises(SystemExit):
        operator().execute(ctx(SiblingTI(table, map_index=1, crash_on=crash_at_run_id), None))
    own = emulator.control.tasks()[0]["id"]
    first = operator().execute(ctx(SiblingTI(table, map_index=0), None))
    manifest = operator().execute(ctx(SiblingTI(table, 2, map_index=1), None))
    assert manifest["task_id"] == own != first["task_id"]
    assert counters(emulator)["tasks_created"] == 2


def test_same_input_for_another_app_version_is_not_adopted_while_pending(emulator):
    """A task of the DAG sending the same input to another app version, not yet published,
    blocks the look-up (a listed task's version cannot be checked): refuse rather than adopt."""
    from airflow.sdk import DAG

    with DAG("dag", schedule=None):
        other = operator(task_id="other", app="acme/echo")
        mine = operator()
    table = XComTable()
    with pytest.raises(SystemExit):
        other.execute(ctx(SiblingTI(table, task_id="other", crash_on=crash_at_claim), None))
    emulator.control.add_faults([CREATE_503])
    with pytest.raises(AirflowException, match="has not published"):
        mine.execute(ctx(SiblingTI(table), None))
    assert counters(emulator)["tasks_created"] == 1
