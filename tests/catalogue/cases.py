"""The bad-input catalogue: one list of cases across the three services, used by the test and
by ``scripts/gen_errors_doc.py`` (which writes ``docs/errors.md``), so the docs cannot drift.

Each case runs against the emulator (connections from :func:`connection_env`) and must raise
``error`` with a message matching ``match``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from emulation import connection_json
from support import make_context

INF_KEY = "inf_catalogue_key_0123456789"
INFERABLE_KEY = "sk_inf_catalogue_key_000000000000000000"
MACHINE_KEY = "sk_machine_catalogue_key_0000000000000000"
EDGES_KEY = "edges_catalogue_key_0001"
CLUSTER = "01JCATALOGUECLUSTER0000000"


@dataclass(frozen=True)
class Case:
    """One bad input and what the user must see."""

    id: str
    service: str
    what: str
    run: Callable[[Any], Any]
    error: str
    match: str
    local: bool = False
    """The check is local: the test asserts that no HTTP call reached the emulator."""


def connection_env(server: Any, **overrides: str) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` for the catalogue's connections on ``server`` (an ``EmulatorServer``)."""

    def conn(service: str, key: str, **extra: Any) -> str:
        return connection_json(service, server.service_url(service), key, **extra)

    return {
        "AIRFLOW_CONN_INFERENCE_SH_DEFAULT": conn("inference_sh", INF_KEY),
        "AIRFLOW_CONN_INFERENCE_SH_BADKEY": conn("inference_sh", "inf_wrong_catalogue_key"),
        "AIRFLOW_CONN_INFERENCE_SH_BADNUMBERING": conn("inference_sh", INF_KEY, status_numbering="x"),
        "AIRFLOW_CONN_INFERENCE_SH_NOKEY": connection_json("inference_sh", "http://127.0.0.1:9"),
        "AIRFLOW_CONN_INFERABLE_DEFAULT": conn("inferable", INFERABLE_KEY, cluster_id=CLUSTER),
        "AIRFLOW_CONN_INFERABLE_MACHINE": conn("inferable", MACHINE_KEY, cluster_id=CLUSTER),
        "AIRFLOW_CONN_INFERABLE_BADKEY": conn("inferable", "sk_inf_wrong_key_00000", cluster_id=CLUSTER),
        "AIRFLOW_CONN_INFERABLE_NOCLUSTER": conn("inferable", INFERABLE_KEY),
        "AIRFLOW_CONN_EDGES_DEFAULT": conn("edges", EDGES_KEY, identity_mode="managed"),
        "AIRFLOW_CONN_EDGES_BADKEY": conn("edges", "edges_wrong_key_0000"),
        "AIRFLOW_CONN_EDGES_BADIDENTITY": conn("edges", EDGES_KEY, identity_mode="direct"),
        **overrides,
    }


def _ctx() -> dict[str, Any]:
    return make_context(dag_id="catalogue", run_id="manual__catalogue")


# -- builders ---------------------------------------------------------------------------------------
def ish(**kwargs: Any) -> Callable[[Any], Any]:
    def run(server: Any) -> Any:
        from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

        args = {
            "task_id": "t",
            "app": "acme/echo@v1",
            "input": {"text": "x"},
            "poll_interval": 0.05,
            "timeout": 10,
            **kwargs,
        }
        return InferenceShTaskOperator(**args).execute(_ctx())

    return run


def inferable(**kwargs: Any) -> Callable[[Any], Any]:
    def run(server: Any) -> Any:
        from airflow_provider_runs.operators.inferable import InferableRunOperator

        args = {
            "task_id": "agent",
            "initial_prompt": "Count tickets",
            "poll_interval": 0.05,
            "timeout": 10,
            **kwargs,
        }
        return InferableRunOperator(**args).execute(_ctx())

    return run


def edges(**kwargs: Any) -> Callable[[Any], Any]:
    def run(server: Any) -> Any:
        from airflow_provider_runs.operators.edges import EdgesActionOperator

        args = {
            "task_id": "enrich",
            "action": "linkedin-extract-people",
            "poll_interval": 0.05,
            "timeout": 10,
            "inputs": [{"linkedin_profile_url": "https://www.linkedin.com/in/a"}],
            **kwargs,
        }
        return EdgesActionOperator(**args).execute(_ctx())

    return run


def with_fault(rule: dict[str, Any], then: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def run(server: Any) -> Any:
        server.control.add_faults([rule])
        return then(server)

    return run


def hook_call(kind: str, method: str, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    def run(server: Any) -> Any:
        from airflow_provider_runs.hooks.edges import EdgesHook
        from airflow_provider_runs.hooks.inferable import InferableHook
        from airflow_provider_runs.hooks.inference_sh import InferenceShHook

        hook = {"inference_sh": InferenceShHook, "inferable": InferableHook, "edges": EdgesHook}[kind]()
        return getattr(hook, method)(*args, **kwargs)

    return run


def sensor(kind: str, run_id: str, **kwargs: Any) -> Callable[[Any], Any]:
    def run(server: Any) -> Any:
        from airflow_provider_runs.sensors.edges import EdgesRunSensor
        from airflow_provider_runs.sensors.inferable import InferableRunSensor
        from airflow_provider_runs.sensors.inference_sh import InferenceShTaskSensor

        cls = {
            "inference_sh": InferenceShTaskSensor,
            "inferable": InferableRunSensor,
            "edges": EdgesRunSensor,
        }[kind]
        return cls(task_id="s", run_id=run_id, poll_interval=0.05, deferrable=False, **kwargs).execute(_ctx())

    return run


def hook_with(kind: str, method: str, *args: Any, **hook_kwargs: Any) -> Callable[[Any], Any]:
    """Call ``method(*args)`` on a hook built with ``hook_kwargs`` (e.g. a cluster override)."""

    def run(server: Any) -> Any:
        from airflow_provider_runs.hooks.inferable import InferableHook

        hook = {"inferable": InferableHook}[kind](**hook_kwargs)
        return getattr(hook, method)(*args)

    return run


def status_body(body: str) -> Callable[[Any], Any]:
    """An inference.sh task whose status endpoint answers ``body`` (for good)."""
    return with_fault(
        {
            "service": "inference_sh",
            "path_regex": "/tasks/task_",
            "kind": "body",
            "status": 200,
            "body": body,
        },
        ish(max_consecutive_failures=2, timeout=60),  # in-call retries of two polls can pass 10 s
    )


PROFILE = {"linkedin_profile_url": "https://www.linkedin.com/in/a"}
BAD = "InvalidArgumentError"
"""Local argument checks: a ``ValueError`` and an ``AirflowFailException`` (no retry)."""

CASES: list[Case] = [
    # inference.sh: arguments
    Case("ish-missing-app", "inference.sh", "no app", ish(app=None), BAD, "app is required", local=True),
    Case(
        "ish-malformed-app",
        "inference.sh",
        "app 'echo'",
        ish(app="echo"),
        BAD,
        "is not a valid app reference",
        local=True,
    ),
    Case(
        "ish-input-list",
        "inference.sh",
        "input is a list",
        ish(input=["a"]),
        BAD,
        "input must be a JSON object",
        local=True,
    ),
    Case(
        "ish-input-text",
        "inference.sh",
        "input is text, not JSON",
        ish(input="hi"),
        BAD,
        "input must be a JSON object",
        local=True,
    ),
    Case(
        "ish-timeout-range",
        "inference.sh",
        "session_timeout=7200",
        ish(session="new", session_timeout=7200),
        BAD,
        "between 1 and 3600",
        local=True,
    ),
    Case(
        "ish-timeout-no-session",
        "inference.sh",
        "session_timeout without session='new'",
        ish(session_timeout=60),
        BAD,
        'only valid with session="new"',
        local=True,
    ),
    Case(
        "ish-infra", "inference.sh", "infra='gpu'", ish(infra="gpu"), BAD, "infra must be one of", local=True
    ),
    Case(
        "ish-webhook",
        "inference.sh",
        "webhook without scheme",
        ish(webhook="hooks.example/x"),
        BAD,
        r"webhook must be an http\(s\) URL",
        local=True,
    ),
    Case(
        "ish-workers",
        "inference.sh",
        "workers is a string",
        ish(workers="w1"),
        BAD,
        "workers must be a list",
        local=True,
    ),
    Case(
        "ish-poll",
        "inference.sh",
        "poll_interval=0",
        ish(poll_interval=0),
        BAD,
        "poll_interval must be a positive number",
        local=True,
    ),
    # inference.sh: connections
    Case(
        "ish-unknown-conn",
        "inference.sh",
        "unknown connection id",
        ish(inference_sh_conn_id="nope"),
        "AirflowNotFoundException",
        "nope",
    ),
    Case(
        "ish-no-key",
        "inference.sh",
        "connection without a password",
        ish(inference_sh_conn_id="inference_sh_nokey"),
        "ValueError",
        "has no API key",
    ),
    Case(
        "ish-bad-numbering",
        "inference.sh",
        "status_numbering extra 'x'",
        ish(inference_sh_conn_id="inference_sh_badnumbering"),
        "ValueError",
        "status_numbering must be one of",
    ),
    # inference.sh: the service says no
    Case(
        "ish-401",
        "inference.sh",
        "wrong API key",
        ish(inference_sh_conn_id="inference_sh_badkey"),
        "NoRetryAuthError",
        "HTTP 401.*unauthorized",
    ),
    Case(
        "ish-404-app",
        "inference.sh",
        "unknown app",
        ish(app="acme/none@v1"),
        "NotFoundError",
        "HTTP 404.*app acme/none@v1 not found",
    ),
    Case(
        "ish-422",
        "inference.sh",
        "input not matching the app schema",
        ish(input={"wrong": 1}),
        "NoRetryBadRequestError",
        "HTTP 422.*validation_error",
    ),
    Case(
        "ish-404-session",
        "inference.sh",
        "unknown session id",
        ish(app="acme/counter@v1", input={}, session="sess_nope"),
        "NotFoundError",
        "SESSION_NOT_FOUND",
    ),
    Case(
        "ish-429",
        "inference.sh",
        "429 on create with Retry-After beyond the cap",
        with_fault(
            {
                "service": "inference_sh",
                "method": "POST",
                "kind": "status",
                "status": 429,
                "retry_after": 3600,
                "count": 1,
            },
            ish(),
        ),
        "RateLimitedError",
        "HTTP 429",
    ),
    Case(
        "ish-404-task",
        "inference.sh",
        "sensor on an unknown task",
        sensor("inference_sh", "task_missing"),
        "RunFailedError",
        "404",
    ),
    # inference.sh: odd bodies
    Case(
        "ish-truncated",
        "inference.sh",
        "truncated JSON from the status endpoint",
        status_body('{"data": {"id": "t", "status": 10'),
        "RunFailedError",
        "not JSON",
    ),
    Case(
        "ish-html",
        "inference.sh",
        "an HTML page with 200",
        status_body("<html>proxy</html>"),
        "RunFailedError",
        "not JSON",
    ),
    Case(
        "ish-array",
        "inference.sh",
        "a JSON array instead of an object",
        status_body("[1, 2]"),
        "RunFailedError",
        "unexpected body",
    ),
    Case(
        "ish-v1-failure",
        "inference.sh",
        "v1 envelope with success=false",
        status_body(
            '{"success": false, "status": 500, "error": {"code": "internal_error", "message": "db down"}}'
        ),
        "RunFailedError",
        "db down",
    ),
    # Inferable
    Case(
        "inf-empty-prompt",
        "Inferable",
        "initial_prompt=''",
        inferable(initial_prompt=""),
        BAD,
        "initial_prompt must be a non-empty string",
        local=True,
    ),
    Case(
        "inf-array-schema",
        "Inferable",
        "result_schema is an array schema",
        lambda s: inferable(result_schema={"type": "array", "items": {}})(s),
        "ValueError",
        "must describe an object",
        local=True,
    ),
    Case(
        "inf-no-properties",
        "Inferable",
        "result_schema without properties",
        lambda s: inferable(result_schema={"type": "object"})(s),
        "ValueError",
        "must have 'properties'",
        local=True,
    ),
    Case(
        "inf-property-name",
        "Inferable",
        "property 'bad-name'",
        lambda s: inferable(result_schema={"type": "object", "properties": {"bad-name": {}}})(s),
        "ValueError",
        "property name 'bad-name'",
        local=True,
    ),
    Case(
        "inf-non-model",
        "Inferable",
        "result_schema=dict (a class, not a model)",
        lambda s: inferable(result_schema=dict)(s),
        "ValueError",
        "not a pydantic BaseModel",
        local=True,
    ),
    Case(
        "inf-empty-tools",
        "Inferable",
        "tools=[]",
        inferable(tools=[]),
        BAD,
        "tools cannot be an empty list",
        local=True,
    ),
    Case(
        "inf-bad-id",
        "Inferable",
        "inferable_run_id='a b'",
        inferable(inferable_run_id="a b"),
        BAD,
        "must match",
        local=True,
    ),
    Case(
        "inf-no-cluster",
        "Inferable",
        "connection without cluster id",
        inferable(inferable_conn_id="inferable_nocluster"),
        "ValueError",
        "has no cluster id",
    ),
    Case(
        "inf-401",
        "Inferable",
        "unknown key",
        inferable(inferable_conn_id="inferable_badkey"),
        "NoRetryAuthError",
        "Auth not extracted from request",
    ),
    Case(
        "inf-machine-key",
        "Inferable",
        "machine key creating a run (older server)",
        inferable(inferable_conn_id="inferable_machine"),
        "NoRetryAuthError",
        "cluster consumer API key",
    ),
    Case(
        "inf-404",
        "Inferable",
        "sensor on an unknown run",
        sensor("inferable", "no-such-run"),
        "RunFailedError",
        "404",
    ),
    Case(
        "inf-500",
        "Inferable",
        "500 on every read",
        with_fault(
            {"service": "inferable", "method": "GET", "kind": "status", "status": 500, "count": 50},
            sensor("inferable", "no-such-run", max_consecutive_failures=2),
        ),
        "RunFailedError",
        "times in a row.*HTTP 500",
    ),
    # Edges
    Case(
        "edges-bad-slug",
        "Edges",
        "action 'Extract People'",
        edges(action="Extract People"),
        BAD,
        "action must be an action slug",
        local=True,
    ),
    Case(
        "edges-unknown-action",
        "Edges",
        "an action the service does not have",
        edges(action="linkedin-extract-nothing"),
        "NotFoundError",
        "HTTP 404.*not found",
    ),
    Case(
        "edges-live-inputs",
        "Edges",
        "live mode with inputs",
        edges(mode="live"),
        BAD,
        'mode="live" takes one input',
        local=True,
    ),
    Case(
        "edges-async-input",
        "Edges",
        "async mode with input",
        edges(inputs=None, input=PROFILE),
        BAD,
        "takes inputs",
        local=True,
    ),
    Case(
        "edges-too-many",
        "Edges",
        "100,001 inputs",
        edges(inputs=[PROFILE] * 100_001),
        "InputsTooManyError",
        "at most 100,000 inputs per run; got 100,001",
        local=True,
    ),
    Case(
        "edges-schedule-too-many",
        "Edges",
        "101 inputs in a schedule",
        edges(mode="schedule", inputs=[PROFILE] * 101, cron="0 3 * * *"),
        "InputsTooManyError",
        "at most 100 inputs",
        local=True,
    ),
    Case("edges-empty", "Edges", "no inputs", edges(inputs=[]), BAD, "inputs is empty", local=True),
    Case(
        "edges-bad-cron",
        "Edges",
        "cron with 4 fields",
        edges(mode="schedule", cron="0 3 * *"),
        BAD,
        "5-field cron",
        local=True,
    ),
    Case(
        "edges-direct-no-ids",
        "Edges",
        "identity_mode=direct without ids",
        edges(edges_conn_id="edges_badidentity"),
        "ValueError",
        'identity_mode="direct" needs identity_ids',
    ),
    Case(
        "edges-401",
        "Edges",
        "wrong API key",
        edges(edges_conn_id="edges_badkey"),
        "NoRetryAuthError",
        "HTTP 401",
    ),
    Case(
        "edges-404-run",
        "Edges",
        "sensor on an unknown run",
        sensor("edges", "00000000-0000-0000-0000-000000000000"),
        "RunFailedError",
        "404",
    ),
    Case(
        "edges-bad-sort",
        "Edges",
        "listing sorted by 'name'",
        hook_call("edges", "list_runs", sort="name"),
        "ValueError",
        "sort field 'name'",
    ),
    Case(
        "edges-limit",
        "Edges",
        "listing with limit=101",
        hook_call("edges", "list_runs", limit=101),
        "ValueError",
        "limit must be between 1 and 100",
    ),
    Case(
        "edges-status-filter",
        "Edges",
        "listing status 'DONE'",
        hook_call("edges", "list_runs", filters={"status": "DONE"}),
        "ValueError",
        "unknown run status 'DONE'",
    ),
    Case(
        "edges-resume-finished",
        "Edges",
        "resume of a finished run",
        lambda s: _resume_finished(s),
        "ConflictError",
        "HTTP 409",
    ),
]


NAN, INF = float("nan"), float("inf")
WHEN = datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc)

# Checked locally since issue 11 (ids in paths, durations, output files, JSON, dates): no HTTP call.
CASES += [
    # ids in URL paths
    Case(
        "ish-path-dotdot",
        "inference.sh",
        "sensor run_id '..'",
        sensor("inference_sh", ".."),
        BAD,
        r"run_id '\.\.' is not an id",
        local=True,
    ),
    Case(
        "ish-path-control",
        "inference.sh",
        "sensor run_id with a newline",
        sensor("inference_sh", "task_1\nx"),
        BAD,
        "run_id .* control characters",
        local=True,
    ),
    Case(
        "ish-path-query",
        "inference.sh",
        "sensor run_id 'abc?x=1#' (sent percent-encoded)",
        sensor("inference_sh", "abc?x=1#"),
        "RunFailedError",
        "GET /tasks/abc%3Fx%3D1%23/status, status=404",
    ),
    Case(
        "ish-hook-path",
        "inference.sh",
        "hook get_task('.')",
        hook_call("inference_sh", "get_task", "."),
        BAD,
        r"task_id '\.' is not an id",
        local=True,
    ),
    Case(
        "ish-hook-session-path",
        "inference.sh",
        "hook end_session('..')",
        hook_call("inference_sh", "end_session", ".."),
        BAD,
        r"session_id '\.\.' is not an id",
        local=True,
    ),
    Case(
        "inf-path-dotdot",
        "Inferable",
        "sensor run_id '..'",
        sensor("inferable", ".."),
        BAD,
        r"run_id '\.\.' is not an id",
        local=True,
    ),
    Case(
        "inf-path-query",
        "Inferable",
        "sensor run_id 'run?x=1#' (sent percent-encoded)",
        sensor("inferable", "run?x=1#"),
        "RunFailedError",
        "runs/run%3Fx%3D1%23, status=404",
    ),
    Case(
        "inf-hook-job-path",
        "Inferable",
        "hook answer_approval('..')",
        hook_call("inferable", "answer_approval", "..", True),
        BAD,
        r"job_id '\.\.' is not an id",
        local=True,
    ),
    Case(
        "inf-cluster-path",
        "Inferable",
        "cluster_id '..'",
        inferable(cluster_id=".."),
        BAD,
        r"cluster_id '\.\.' is not an id",
        local=True,
    ),
    Case(
        "inf-hook-cluster-path",
        "Inferable",
        "hook with cluster_id 'c?x=1' (sent percent-encoded)",
        hook_with("inferable", "get_run", "r1", cluster_id="c?x=1"),
        "AuthError",
        "clusters/c%3Fx%3D1/runs/r1",
    ),
    Case(
        "edges-path-dotdot",
        "Edges",
        "sensor run_id '..'",
        sensor("edges", ".."),
        BAD,
        r"run_id '\.\.' is not an id",
        local=True,
    ),
    Case(
        "edges-path-control",
        "Edges",
        "sensor run_id with a tab",
        sensor("edges", "uid\tx"),
        BAD,
        "run_id .* control characters",
        local=True,
    ),
    Case(
        "edges-hook-path",
        "Edges",
        "hook get_run('..')",
        hook_call("edges", "get_run", ".."),
        BAD,
        r"run_uid '\.\.' is not an id",
        local=True,
    ),
    Case(
        "edges-hook-schedule-path",
        "Edges",
        "hook get_schedule('.')",
        hook_call("edges", "get_schedule", "."),
        BAD,
        r"schedule_uid '\.' is not an id",
        local=True,
    ),
    # durations
    Case(
        "ish-poll-nan",
        "inference.sh",
        "poll_interval=nan",
        ish(poll_interval=NAN),
        BAD,
        "poll_interval must be a finite number",
        local=True,
    ),
    Case(
        "ish-timeout-inf",
        "inference.sh",
        "timeout=inf",
        ish(timeout=INF),
        BAD,
        "timeout must be a finite number",
        local=True,
    ),
    Case(
        "inf-timeout-huge",
        "Inferable",
        "timeout=1e300",
        inferable(timeout=1e300),
        BAD,
        "timeout must be at most 31,536,000 seconds",
        local=True,
    ),
    Case(
        "inf-poll-two-days",
        "Inferable",
        "poll_interval=2 days",
        inferable(poll_interval=timedelta(days=2)),
        BAD,
        "poll_interval must be at most 86,400 seconds",
        local=True,
    ),
    Case(
        "edges-poll-huge",
        "Edges",
        "poll_interval=1e300",
        edges(poll_interval=1e300),
        BAD,
        "poll_interval must be at most",
        local=True,
    ),
    Case(
        "edges-timeout-nan",
        "Edges",
        "sensor timeout=nan",
        sensor("edges", "uid", timeout=NAN),
        BAD,
        "timeout must be a finite number",
        local=True,
    ),
    Case(
        "inf-sensor-timeout-400-days",
        "Inferable",
        "sensor timeout=400 days",
        sensor("inferable", "run1", timeout=timedelta(days=400)),
        BAD,
        "timeout must be at most",
        local=True,
    ),
    Case(
        "ish-failures-bool",
        "inference.sh",
        "max_consecutive_failures=True",
        ish(max_consecutive_failures=True),
        BAD,
        "max_consecutive_failures must be a positive integer",
        local=True,
    ),
    # output files
    Case(
        "ish-output-empty",
        "inference.sh",
        "output_path=''",
        ish(output_path=""),
        BAD,
        "output_path is empty",
        local=True,
    ),
    Case(
        "ish-output-dir",
        "inference.sh",
        "output_path is a directory",
        ish(output_path="/tmp"),
        BAD,
        "output_path '/tmp' is a directory",
        local=True,
    ),
    Case(
        "ish-output-type",
        "inference.sh",
        "output_path=123",
        ish(output_path=123),
        BAD,
        "output_path must be a file path or URL string; got int",
        local=True,
    ),
    Case(
        "ish-output-parent",
        "inference.sh",
        "output_path under a file",
        ish(output_path="/dev/null/out.json"),
        BAD,
        "'/dev/null' is not a directory",
        local=True,
    ),
    Case(
        "ish-sensor-output-dir",
        "inference.sh",
        "sensor output_path is a directory",
        sensor("inference_sh", "task_1", output_path="/tmp"),
        BAD,
        "output_path '/tmp' is a directory",
        local=True,
    ),
    Case(
        "edges-output-dir",
        "Edges",
        "output_path is a directory",
        edges(output_path="/tmp"),
        BAD,
        "output_path '/tmp' is a directory",
        local=True,
    ),
    Case(
        "edges-failed-inputs-empty",
        "Edges",
        "failed_inputs_path=''",
        edges(failed_inputs_path=""),
        BAD,
        "failed_inputs_path is empty",
        local=True,
    ),
    # JSON inputs
    Case(
        "ish-input-nan",
        "inference.sh",
        "input={'x': nan}",
        ish(input={"x": NAN}),
        BAD,
        r"input\['x'\] is not valid JSON: nan",
        local=True,
    ),
    Case(
        "ish-input-datetime",
        "inference.sh",
        "input holds a datetime",
        ish(input={"when": WHEN}),
        BAD,
        r"input\['when'\] is not valid JSON: datetime values are not JSON serializable",
        local=True,
    ),
    Case(
        "ish-setup-inf",
        "inference.sh",
        "setup={'x': inf}",
        ish(setup={"x": INF}),
        BAD,
        r"setup\['x'\] is not valid JSON",
        local=True,
    ),
    Case(
        "inf-input-nan",
        "Inferable",
        "input={'x': nan}",
        inferable(input={"x": NAN}),
        BAD,
        r"input\['x'\] is not valid JSON",
        local=True,
    ),
    Case(
        "inf-context-object",
        "Inferable",
        "context holds an object",
        inferable(context={"client": object()}),
        BAD,
        r"context\['client'\] is not valid JSON: object values are not JSON serializable",
        local=True,
    ),
    Case(
        "edges-inputs-nan",
        "Edges",
        "inputs=[{'x': nan}]",
        edges(inputs=[PROFILE, {"x": NAN}]),
        BAD,
        r"inputs\[1\]\['x'\] is not valid JSON",
        local=True,
    ),
    Case(
        "edges-live-input-set",
        "Edges",
        "live input holds a set",
        edges(mode="live", inputs=None, input={"tags": {"a"}}),
        BAD,
        r"input\['tags'\] is not valid JSON: set values are not JSON serializable",
        local=True,
    ),
    Case(
        "edges-parameters-nan",
        "Edges",
        "parameters={'limit': nan}",
        edges(parameters={"limit": NAN}),
        BAD,
        r"parameters\['limit'\] is not valid JSON",
        local=True,
    ),
    # dates
    Case(
        "ish-run-at",
        "inference.sh",
        "run_at='not-a-date'",
        ish(run_at="not-a-date"),
        BAD,
        "run_at 'not-a-date' is not an ISO 8601 date-time",
        local=True,
    ),
    Case(
        "edges-schedule-at",
        "Edges",
        "schedule_at='tomorrow'",
        edges(mode="schedule", schedule_at="tomorrow"),
        BAD,
        "schedule_at 'tomorrow' is not an ISO 8601 date-time",
        local=True,
    ),
    # service answers no retry can fix: AirflowFailException
    Case(
        "edges-sensor-401",
        "Edges",
        "sensor with a wrong API key",
        sensor("edges", "00000000-0000-0000-0000-000000000000", edges_conn_id="edges_badkey"),
        "RunFailedNoRetryError",
        "HTTP 401",
    ),
]


def _resume_finished(server: Any) -> Any:
    from airflow_provider_runs.hooks.edges import EdgesHook

    manifest = edges(deferrable=False)(server)
    return EdgesHook().resume_run(manifest["run_uid"])


def normalize(message: str) -> str:
    """A message as the docs show it: emulator address, ids and uuids replaced."""
    message = re.sub(r"http://127\.0\.0\.1:\d+", "https://<service>", message)
    message = re.sub(r"task_[0-9a-f]{8,}", "task_<id>", message)
    message = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", message)
    message = re.sub(r"af\.[\w.-]+\.g\d+", "<run id>", message)
    return " ".join(message.split())


def run_case(case: Case, server: Any) -> tuple[str, str]:
    """Run a case; return ``(error type name, normalized message)`` (raises if nothing failed).

    Each case starts with fresh request budgets: a case's 429 pauses its connection's budget."""
    from airflow_provider_runs.core.limiter import reset_limiters

    reset_limiters()
    try:
        case.run(server)
    except BaseException as exc:  # the point is to see what the user sees
        return type(exc).__name__, normalize(str(exc))
    raise AssertionError(f"case {case.id} did not fail")


def emulator_config() -> Any:
    """The emulator settings the catalogue runs against."""
    from airflow_provider_runs.testing.emulator import EmulatorConfig

    return EmulatorConfig(
        inference_sh_api_keys=[INF_KEY],
        inferable_clusters={CLUSTER: [INFERABLE_KEY]},
        inferable_machine_keys=[MACHINE_KEY],
        inferable_enforce_key_kinds=True,  # "inf-machine-key": older hosted servers (spec §9)
        edges_api_keys=[EDGES_KEY],
        default_task_duration=0.2,
        inferable_step_seconds=0.05,
        edges_input_seconds=0.001,
    )


def render_markdown(results: list[tuple[Case, str, str]]) -> str:
    """``docs/errors.md``: one row per case."""
    lines = [
        "# What users see on bad input",
        "",
        "Generated by `scripts/gen_errors_doc.py` from `tests/catalogue/cases.py`; "
        "`tests/catalogue/test_catalogue.py` fails when this file is out of date.",
        "",
        f"{len(results)} cases. Local checks raise before any HTTP call; service errors quote the "
        "service's status code and message. `InvalidArgumentError` (a `ValueError`), `NoRetry...` "
        "errors (401/403, 400/413/422 in a task) and `RunFailedNoRetryError` are Airflow "
        "`AirflowFailException`s: the task fails without retrying.",
        "",
        "| Service | Case | Error | What the user sees |",
        "|---|---|---|---|",
    ]
    for case, error, message in results:
        text = message.replace("|", "\\|")
        lines.append(f"| {case.service} | {case.what} | `{error}` | {text} |")
    return "\n".join(lines) + "\n"
