"""The secrets audit for the day-two operators (issue 15): each one, run against the emulator with
a key the service refuses, fails; the refused key appears in no log, exception, repr, templated
field, XCom or state store. The listing operators also run with an accepted key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from secrets_audit import Evidence, audit_ti, collect

from airflow_provider_runs.operators.edges_listing import EdgesListRunsOperator
from airflow_provider_runs.operators.edges_rerun import EdgesRerunFailedInputsOperator
from airflow_provider_runs.operators.edges_run_actions import EdgesRunActionOperator
from airflow_provider_runs.operators.edges_schedules import (
    EdgesScheduleActionOperator,
    EdgesScheduleOperator,
)
from airflow_provider_runs.operators.inferable_actions import InferableApprovalOperator
from airflow_provider_runs.operators.inferable_listing import InferableListRunsOperator
from airflow_provider_runs.operators.inferable_message import InferableSendMessageOperator
from airflow_provider_runs.operators.inference_sh_actions import (
    InferenceShCancelTaskOperator,
    InferenceShEndSessionOperator,
)
from airflow_provider_runs.operators.inference_sh_listing import InferenceShListTasksOperator

from support import FakeStateStore

CLUSTER = "01JAUDITCLUSTER00000000000"
GOOD = {
    "inference_sh": "inf_DAYTWO-GOOD-5d1e0b7c93a2",
    "edges": "edges_DAYTWO-GOOD-8a4f2c61e0b9",
    "inferable": "sk_inf_DAYTWO-GOOD-2c7b9e05f1d4",
}
REFUSED = {
    "inference_sh": "inf_DAYTWO-REFUSED-71c0e4a9b2f8",
    "edges": "edges_DAYTWO-REFUSED-04d9b6e3a7c1",
    "inferable": "sk_inf_DAYTWO-REFUSED-9f3a1d8c6e20",
}
RUN_UID = "00000000-0000-4000-8000-000000000000"
CONN = {"inference_sh": "inference_sh_conn_id", "edges": "edges_conn_id", "inferable": "inferable_conn_id"}
"""The operators' connection argument, per service."""


@pytest.fixture(scope="module")
def server(emulator_factory):
    return emulator_factory(
        inference_sh_api_keys=[GOOD["inference_sh"]],
        edges_api_keys=[GOOD["edges"]],
        inferable_clusters={CLUSTER: [GOOD["inferable"]]},
    )


@pytest.fixture
def env(server, monkeypatch):
    yield from server.fresh(
        monkeypatch,
        inference_sh_default=server.connection("inference_sh", GOOD["inference_sh"]),
        edges_default=server.connection("edges", GOOD["edges"], identity_mode="managed"),
        inferable_default=server.connection("inferable", GOOD["inferable"], cluster_id=CLUSTER),
        inference_sh_refused=server.connection("inference_sh", REFUSED["inference_sh"]),
        edges_refused=server.connection("edges", REFUSED["edges"], identity_mode="managed"),
        inferable_refused=server.connection("inferable", REFUSED["inferable"], cluster_id=CLUSTER),
    )


OPERATORS: dict[str, tuple[str, Callable[..., Any]]] = {
    "edges-rerun": ("edges", lambda **c: EdgesRerunFailedInputsOperator(task_id="t", run_uid=RUN_UID, **c)),
    "edges-schedule": (
        "edges",
        lambda **c: EdgesScheduleOperator(
            task_id="t",
            name="audit",
            action="linkedin-extract-people",
            inputs=[{"linkedin_profile_url": "https://www.linkedin.com/in/a"}],
            cron="0 6 * * 1",
            **c,
        ),
    ),
    "edges-schedule-action": (
        "edges",
        lambda **c: EdgesScheduleActionOperator(task_id="t", operation="pause", name="audit", **c),
    ),
    "edges-run-action": ("edges", lambda **c: EdgesRunActionOperator(task_id="t", run_uid=RUN_UID, **c)),
    "edges-list": ("edges", lambda **c: EdgesListRunsOperator(task_id="t", limit=5, **c)),
    "inference-sh-cancel": (
        "inference_sh",
        lambda **c: InferenceShCancelTaskOperator(task_id="t", run_id="task_audit", **c),
    ),
    "inference-sh-end-session": (
        "inference_sh",
        lambda **c: InferenceShEndSessionOperator(task_id="t", session_id="sess_audit", **c),
    ),
    "inference-sh-list": (
        "inference_sh",
        lambda **c: InferenceShListTasksOperator(task_id="t", limit=5, **c),
    ),
    "inferable-approval": (
        "inferable",
        lambda **c: InferableApprovalOperator(task_id="t", run_id="run_audit", tool="send_email", **c),
    ),
    "inferable-message": (
        "inferable",
        lambda **c: InferableSendMessageOperator(task_id="t", run_id="run_audit", message="hi", **c),
    ),
    "inferable-list": ("inferable", lambda **c: InferableListRunsOperator(task_id="t", limit=5, **c)),
}


def _run(make: Callable[[], Any], raised: list[BaseException]) -> Callable[[Evidence], None]:
    def run(evidence: Evidence) -> None:
        op = make()
        ti, store = audit_ti(), FakeStateStore()
        evidence.add(repr(op), {f: getattr(op, f) for f in op.template_fields})
        try:
            evidence.add(op.execute({"ti": ti, "task_state_store": store}))
        except BaseException as exc:
            raised.append(exc)
            raise
        finally:
            evidence.add(ti.xcoms, store.data)

    return run


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_a_refused_key_appears_nowhere(env, caplog, capfd, name):
    service, factory = OPERATORS[name]
    raised: list[BaseException] = []
    make = lambda: factory(**{CONN[service]: f"{service}_refused"})  # noqa: E731
    evidence = collect(_run(make, raised), caplog, capfd)
    assert raised, f"{name} did not fail with a key the service refuses"
    assert "HTTP 401" in str(raised[0]), raised[0]  # the service's refusal, not an earlier error
    assert len(evidence.texts) >= 4
    for key in (*REFUSED.values(), *GOOD.values()):
        evidence.assert_clean(key)


@pytest.mark.parametrize("name", ["edges-list", "inference-sh-list", "inferable-list"])
def test_an_accepted_key_appears_nowhere(env, caplog, capfd, name):
    _, factory = OPERATORS[name]
    raised: list[BaseException] = []
    evidence = collect(_run(factory, raised), caplog, capfd)
    assert not raised, raised
    for key in GOOD.values():
        evidence.assert_clean(key)
