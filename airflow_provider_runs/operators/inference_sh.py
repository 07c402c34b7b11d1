"""Run an inference.sh app task from Airflow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, cast

from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.inference_sh import InferenceShHook, RunFields, StatusNumbering
from airflow_provider_runs.hooks.inference_sh_requests import created_at, validate_run_request
from airflow_provider_runs.hooks.inference_sh_states import check_numbering
from airflow_provider_runs.lineage import file_uris
from airflow_provider_runs.operators.base import BaseRunOperator
from airflow_provider_runs.operators.claims import Candidate
from airflow_provider_runs.outputs import write_json
from airflow_provider_runs.services import INFERENCE_SH
from airflow_provider_runs.validation import check_output_path, templated_object


class InferenceShTaskOperator(BaseRunOperator):
    """Run an app on inference.sh and wait for its task to finish.

    The task returns a small manifest: ``{"run_id", "status", "output" | "output_path",
    "session_id", "url", "app"}`` (``run_id``: the inference.sh task id; the manifest's
    ``task_id`` holds the same id for one more release and is deprecated, as it reads like
    Airflow's task id). Chain a session across tasks with ``session="new"`` in the
    first task and ``session="{{ ti.xcom_pull(task_ids='first')['session_id'] }}"`` in the next.

    inference.sh has no idempotency key: a retried task finds the task its earlier try created
    (through the task state store on Airflow 3.3+, or by listing tasks with the same input) and
    waits for it instead of running the app twice.

    :param app: the app reference ``namespace/name@version`` (optionally ``:function``). Templated.
    :param input: the app input, a JSON object. Templated.
    :param inference_sh_conn_id: the connection id (default ``inference_sh_default``). Templated.
    :param app_id: the app id, an alternative to ``app``. Templated.
    :param version_id: the app version id, with ``app_id``. Templated.
    :param function: entry point of a multi-function app. Templated.
    :param setup: setup parameters (affect worker warmth). Templated.
    :param infra: ``cloud`` (default on the service), ``private`` or ``private_first``. Templated.
    :param workers: pin the task to these worker ids (private infra). Templated.
    :param webhook: URL the service POSTs to when the task ends (a hint only; the task still polls).
        Templated.
    :param session: ``"new"`` to start a session, or an existing session id. Templated.
    :param session_timeout: idle timeout of a new session, 1-3600 s; only with ``session="new"``.
        Templated (a rendered text of digits is read as the number).
    :param run_at: schedule the task for later (RFC 3339 or datetime). Templated.
    :param metadata: the service's automation metadata object. Templated.
    :param output_path: where to write the task output as JSON (local path or object-storage
        URL, e.g. ``s3://bucket/key.json``); the manifest then holds the path instead of the
        output. Templated.
    :param status_numbering: overrides the connection's ``status_numbering`` (``auto``,
        ``legacy``, ``current``).
    :param wait_for_completion: see :class:`~airflow_provider_runs.operators.base.BaseRunOperator`.
    :param deferrable: see the base operator.
    :param poll_interval: see the base operator.
    :param timeout: see the base operator.
    :param cancel_on_kill: see the base operator (inference.sh can cancel; default ``True``).
    """

    hook_class = InferenceShHook
    conn_id_field = "inference_sh_conn_id"
    template_fields: Sequence[str] = (
        "app",
        "input",
        "function",
        "setup",
        "workers",
        "webhook",
        "session",
        "run_at",
        "metadata",
        "output_path",
        "app_id",
        "version_id",
        "infra",
        "session_timeout",
        "inference_sh_conn_id",
    )
    template_fields_renderers = {"input": "json", "setup": "json", "metadata": "json"}

    def __init__(
        self,
        *,
        app: str | None = None,
        input: Mapping[str, Any] | str | None = None,
        inference_sh_conn_id: str = INFERENCE_SH.default_conn_id,
        app_id: str | None = None,
        version_id: str | None = None,
        function: str | None = None,
        setup: Mapping[str, Any] | None = None,
        infra: str | None = None,
        workers: Sequence[str] | None = None,
        webhook: str | None = None,
        session: str | None = None,
        session_timeout: int | None = None,
        run_at: str | datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        output_path: str | None = None,
        status_numbering: StatusNumbering | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if status_numbering is not None:
            check_numbering(status_numbering)
        self.app = app
        self.input = {} if input is None else input
        self.inference_sh_conn_id = inference_sh_conn_id
        self.app_id = app_id
        self.version_id = version_id
        self.function = function
        self.setup = setup
        self.infra = infra
        self.workers = workers
        self.webhook = webhook
        self.session = session
        self.session_timeout = session_timeout
        self.run_at = run_at
        self.metadata = metadata
        self.output_path = output_path
        self.status_numbering = status_numbering

    @cached_property
    def hook(self) -> InferenceShHook:
        """The inference.sh hook."""
        return cast(InferenceShHook, super().hook)

    def hook_params(self) -> dict[str, Any]:
        """Pass the numbering override to the hook (and the trigger)."""
        return {"status_numbering": self.status_numbering} if self.status_numbering else {}

    def _input(self) -> Any:
        """The rendered ``input`` (JSON text from a template is parsed)."""
        return templated_object(self.input, "input")

    def _request_kwargs(self) -> RunFields:
        """The rendered request fields besides ``app`` and ``input`` (empty texts: not given)."""
        return {
            "app_id": self.app_id,
            "version_id": self.version_id,
            "function": self.function or None,
            "setup": self.setup,
            "infra": self.infra,
            "workers": self.workers,
            "webhook": self.webhook or None,
            "session": self.session or None,
            "session_timeout": rendered_int(self.session_timeout),
            "run_at": self.run_at or None,
            "metadata": self.metadata,
        }

    def validate_arguments(self) -> None:
        """Check every argument locally, naming the bad one."""
        validate_run_request(app=self.app, input=self._input(), **self._request_kwargs())
        self.output_path = check_output_path(self.output_path, "output_path")

    def submit(self, context: Any) -> str:
        """``POST /run?wait=false``."""
        task = self.hook.run_task(self.app, self._input(), **self._request_kwargs())
        task_id = task.get("id")
        if not task_id:
            raise ValueError(f"inference.sh created a task without an id: {sorted(task)}")
        return str(task_id)

    def claim_payload(self) -> Any:
        """Claims are keyed on the input alone: an ``app`` reference's version cannot be checked
        on a listed task (the service echoes only opaque ``app_id`` / ``app_version_id``), so a
        sibling sending the same input to another app or version may have created a candidate."""
        return {"input": self._input()}

    def claim_request(self) -> Any:
        """The whole request (runs of equal requests are interchangeable)."""
        return {"app": self.app, "input": self._input(), **self._request_kwargs()}

    def find_submitted(self, context: Any, since: datetime) -> str | None:
        """This task instance's task created since ``since``, or ``None`` (then one is created).

        Candidates: tasks with this input whose echoed request fields agree (see
        :meth:`~airflow_provider_runs.hooks.inference_sh.InferenceShHook.find_tasks`), except
        those that definitely ended without success (they are never reattached). The claims
        published by the DAG run's task instances then decide
        (:func:`~airflow_provider_runs.operators.claims.choose_run`): a candidate another task
        instance claims is skipped; if more than one is left, or another task instance with the
        same input has not published its run yet, the try fails without adopting or creating.
        """
        candidates = []
        for task in self.hook.find_tasks(
            self._input(), created_after=since, app=self.app, request=self._request_kwargs()
        ):
            state = self.hook.task_status(task).state
            if state.is_terminal and state not in (RunState.SUCCEEDED, RunState.PARTIAL):
                continue
            candidates.append(Candidate(str(task["id"]), created_at(task)))
        return self.choose_own_run(context, candidates)

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """Read the full task once and return the manifest (output inline or written to a file);
        keep the files the finished task wrote for :meth:`lineage_datasets`."""
        task = self.hook.get_task(run_id)
        manifest = task_manifest(
            self.hook, run_id, status, output_path=self.output_path, app=self.app or self.app_id, task=task
        )
        if status is not None:
            written = [manifest["output_path"]] if manifest.get("output_path") else []
            self._lineage_outputs = [*file_uris(task.get("output")), *written]
        return manifest

    def lineage_datasets(self) -> tuple[list[str], list[str]]:
        """The file URLs in ``input`` were read; those in the task's output, and ``output_path``
        (where the output was written), were written."""
        return file_uris(self._input()), list(self.__dict__.get("_lineage_outputs", ()))


def rendered_int(value: Any) -> Any:
    """A templated integer: a rendered text of digits is read as the number; anything else is
    returned as it is (the request check names what is wrong with it)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def task_manifest(
    hook: InferenceShHook,
    run_id: str,
    status: RunStatus | None,
    *,
    output_path: str | None,
    app: str | None,
    task: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The XCom manifest of a task: ``run_id`` (and its deprecated copy ``task_id``), status,
    output (or the path it was written to), session, URL.

    Without a final ``status`` (``wait_for_completion=False``) the output is not read or written.
    ``task``: the task already read (else it is read here).
    """
    task = hook.get_task(run_id) if task is None else task
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "task_id": run_id,  # deprecated: the same id as run_id (reads like Airflow's task id)
        "status": (status.details.get("status_name") if status else None) or task.get("status"),
        "app": app or task.get("app") or task.get("app_id"),
        "session_id": task.get("session_id"),
        "url": hook.run_url(run_id),
    }
    if output_path and status is not None:
        manifest["output_path"] = write_json(output_path, task.get("output"))
    else:
        manifest["output"] = task.get("output")
    return manifest
