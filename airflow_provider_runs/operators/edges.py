"""Run an Edges action from Airflow: live, async over up to 100,000 inputs, or scheduled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar, Literal

from airflow.providers.common.compat.sdk import AirflowSkipException

from airflow_provider_runs.core.states import ActionNeeded, RunState, RunStatus, StopCondition
from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.edges_groups import RunGroup, group_manifest
from airflow_provider_runs.hooks.edges_requests import (
    ASSUMPTIONS,
    check_action,
    check_callback,
    check_parameters,
    check_schedule,
    schedule_uid,
)
from airflow_provider_runs.inputs import InputSource, chunked, slice_source
from airflow_provider_runs.links import publish_run_url
from airflow_provider_runs.operators.base import BaseRunOperator
from airflow_provider_runs.operators.edges_arguments import (
    PAUSE_ACTIONS,
    check_live_input,
    check_options,
    count_batch_inputs,
    input_source,
    read_needs_action,
)
from airflow_provider_runs.operators.edges_launch import (
    named_run,
    named_schedule,
    part_name,
    reusable,
    run_live,
    runs_named,
    schedule_manifest,
    task_run_name,
)
from airflow_provider_runs.operators.edges_results import lineage_paths, write_batch_files
from airflow_provider_runs.validation import (
    check_json,
    check_output_path,
    fail_without_retry,
    templated_object,
)
from airflow_provider_runs.waiting.errors import RunFailedError

Mode = Literal["live", "async", "schedule"]


class EdgesActionOperator(BaseRunOperator):
    """Run an Edges action and collect every result, including which inputs failed.

    - ``mode="live"``: one ``input``; returns the action's result directly (list-type actions
      are followed through ``X-Pagination-Next`` up to ``max_pages``).
    - ``mode="async"``: ``inputs`` from a list / template / upstream XCom, or ``inputs_path`` (a
      JSON-lines or CSV file, local or object storage) streamed to the service; at most 100,000
      inputs (refused before any call). Waits for the run, writes results to ``output_path``
      (JSON lines) and failed inputs with their errors to ``failed_inputs_path``; the XCom
      manifest holds paths and counts, not results.
    - ``mode="schedule"``: creates a schedule (1-100 inputs, ``cron``/``timezone``/``schedule_at``)
      and returns its uid without waiting; a retry finds the schedule it created instead of
      creating another.

    Edges has no idempotency key: every launch carries a ``name`` derived from the DAG, task,
    DAG run and map index, and a retry (or an ambiguous launch failure) looks that name up
    among the action's recent runs before launching again.

    :param action: the action slug, e.g. ``linkedin-extract-people``. Templated.
    :param mode: ``live``, ``async`` (default) or ``schedule``.
    :param input: the single input of a live run. Templated.
    :param inputs: the inputs of an async or scheduled run (list of objects). Templated.
    :param inputs_path: a ``.jsonl``/``.csv`` file of inputs (path or URL). Templated.
    :param parameters: action parameters. Templated.
    :param edges_conn_id: the connection id (default ``edges_default``). Templated.
    :param identity_mode: ``direct``, ``auto`` or ``managed`` (default: the connection's). Templated.
    :param identity_ids: identity UIDs for ``direct`` mode. Templated.
    :param callback: ``{url, headers?, on?}``; default: the connection's ``callback_url``. Templated.
    :param output_path: JSON-lines file for the results. Templated.
    :param failed_inputs_path: JSON-lines file for the failed inputs and their errors. Templated.
    :param partial_success: on ``PARTIAL_SUCCEEDED``: ``"fail"`` (default), ``"succeed"`` or
        ``"skip"``; the message gives the succeeded/failed counts.
    :param on_needs_action: on a ``BLOCKED`` or ``STOPPED`` run: ``"fail"`` (default),
        ``"resume"`` (up to ``max_resumes``) or ``"wait"`` (until the deadline); one policy for
        both, or one each: ``{"BLOCKED": "resume", "STOPPED": "wait"}``.
    :param on_blocked: deprecated: ``on_needs_action={"BLOCKED": ...}``.
    :param on_stopped: deprecated: ``on_needs_action={"STOPPED": ...}``.
    :param max_resumes: how many times the task may resume the run.
    :param max_pages: live mode: the most result pages to follow.
    :param split_inputs: async mode: split more than ``max_inputs_per_run`` inputs into several
        runs, launched together and waited for together (one manifest for all of them).
    :param max_inputs_per_run: the size of each run when splitting (at most 100,000).
    :param cron: schedule mode: 5-field cron (omit for a one-shot schedule). Templated.
    :param timezone: schedule mode: IANA time zone (default UTC). Templated.
    :param schedule_at: schedule mode: first (or only) execution time. Templated.
    """

    hook_class: ClassVar[type[EdgesHook]] = EdgesHook
    conn_id_field = "edges_conn_id"
    template_fields: Sequence[str] = (
        "action",
        "input",
        "inputs",
        "inputs_path",
        "parameters",
        "output_path",
        "failed_inputs_path",
        "schedule_at",
        "cron",
        "timezone",
        "callback",
        "identity_mode",
        "identity_ids",
        "edges_conn_id",
    )
    template_fields_renderers = {"input": "json", "inputs": "json", "parameters": "json", "callback": "json"}

    def __init__(
        self,
        *,
        action: str,
        mode: Mode = "async",
        input: Mapping[str, Any] | None = None,
        inputs: Sequence[Mapping[str, Any]] | str | None = None,
        inputs_path: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        edges_conn_id: str = EdgesHook.default_conn_name,
        identity_mode: str | None = None,
        identity_ids: Sequence[str] | None = None,
        callback: Mapping[str, Any] | None = None,
        output_path: str | None = None,
        failed_inputs_path: str | None = None,
        partial_success: str = "fail",
        on_needs_action: str | Mapping[str, str] | None = None,
        max_resumes: int = 3,
        max_pages: int = 10,
        cron: str | None = None,
        timezone: str | None = None,
        schedule_at: str | datetime | None = None,
        split_inputs: bool = False,
        max_inputs_per_run: int = ASSUMPTIONS["max_async_inputs"],
        on_blocked: str | None = None,
        on_stopped: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.needs_action = read_needs_action(on_needs_action, on_blocked=on_blocked, on_stopped=on_stopped)
        check_options(
            mode=mode,
            partial_success=partial_success,
            max_resumes=max_resumes,
            max_pages=max_pages,
            max_inputs_per_run=max_inputs_per_run,
        )
        self.split_inputs = split_inputs
        self.max_inputs_per_run = max_inputs_per_run
        self.action = action
        self.mode = mode
        self.input = input
        self.inputs = inputs
        self.inputs_path = inputs_path
        self.parameters = parameters
        self.edges_conn_id = edges_conn_id
        self.identity_mode = identity_mode
        self.identity_ids = identity_ids
        self.callback = callback
        self.output_path = output_path
        self.failed_inputs_path = failed_inputs_path
        self.partial_success = partial_success
        self.on_needs_action = {r.value: p for r, p in self.needs_action.items()}
        self.max_resumes = max_resumes
        self.max_pages = max_pages
        self.cron = cron
        self.timezone = timezone
        self.schedule_at = schedule_at

    # -- arguments -----------------------------------------------------------------------
    def _source(self) -> InputSource:
        return input_source(self.inputs, self.inputs_path)

    def validate_arguments(self) -> None:
        """Check the mode's arguments (and count file inputs) before any call."""
        check_action(self.action)
        if check_parameters(self.parameters) is not None:
            check_json(self.parameters, "parameters")
        self.callback = templated_object(self.callback, "callback")
        check_callback(self.callback)
        self.output_path = check_output_path(self.output_path, "output_path")
        self.failed_inputs_path = check_output_path(self.failed_inputs_path, "failed_inputs_path")
        if self.mode == "live":
            check_live_input(self.input, self.inputs, self.inputs_path)
            return
        self._count = count_batch_inputs(
            self.mode, self.input, self.inputs, self.inputs_path, split_inputs=self.split_inputs
        )
        if self.mode != "schedule" and (self.cron or self.timezone or self.schedule_at):
            raise ValueError('cron, timezone and schedule_at are only for mode="schedule"')
        if self.mode == "schedule":
            check_schedule(self.cron, self.timezone, self.schedule_at)

    def pause_policy(self, action: ActionNeeded) -> str:
        """The policy (``fail``, ``resume`` or ``wait``) for a run paused for ``action``."""
        return self.needs_action.get(action, "fail")

    def stop_on_states(self) -> Sequence[StopCondition]:
        """A BLOCKED / STOPPED run ends the wait unless its policy is ``"wait"``."""
        return [action for action in PAUSE_ACTIONS if self.pause_policy(action) != "wait"]

    @cached_property
    def hook(self) -> EdgesHook:
        """The Edges hook."""
        return self.hook_class(self.conn_id, **self.hook_params())

    # -- modes -----------------------------------------------------------------------------
    def execute(self, context: Any) -> Any:
        """Live: return the result. Schedule: create (once) and return the uid. Async: run and wait.

        Bad arguments, 401/403 and 400/413/422 answers fail the task without retrying.
        """
        with fail_without_retry():
            self.check_arguments()
            if self.mode == "live":
                return self.secret_free(self._run_live())
            if self.mode == "schedule":
                manifest = self._create_schedule(context)
                publish_run_url(self, context, self.hook.schedule_url(manifest["schedule_uid"]))
                return self.secret_free(manifest)
            run_id, reattached = self.reattach_or_submit(context)
            return self.wait(context, run_id, reattached=reattached)

    def _run_live(self) -> Any:
        return run_live(
            self.hook,
            self.action,
            self.input,
            max_pages=self.max_pages,
            parameters=self.parameters,
            identity_mode=self.identity_mode,
            identity_ids=self.identity_ids,
        )

    def _name(self, context: Any) -> str:
        return task_run_name(context, self.dag_id, self.task_id)

    def _create_schedule(self, context: Any) -> dict[str, Any]:
        name = self._name(context)
        existing = named_schedule(self.hook, self.action, name)
        if existing is not None:
            self.log.info("Schedule %s already exists for this task instance.", schedule_uid(existing))
            return schedule_manifest(existing)
        schedule = self.hook.run_schedule(
            self.action,
            list(self._source()),
            cron=self.cron,
            timezone=self.timezone,
            schedule_at=self.schedule_at,
            parameters=self.parameters,
            callback=self.callback,
            identity_mode=self.identity_mode,
            identity_ids=self.identity_ids,
            name=name,
        )
        return schedule_manifest(schedule)

    def submit(self, context: Any) -> str:
        """Launch the async run (or, split, one run per chunk), streaming the inputs.

        A split batch's runs are named ``<name>:part<k>of<n>``; a part that already exists (a
        retry, or a launch that failed after it landed) is reused instead of launched again,
        unless it definitely ended without success (``FAILED``/``INVALID``) or belongs to a run
        this try replaced (a cleared success). A listing that fails transiently is retried
        within the reattach window, then the try fails: no part is launched blind.
        """
        source, name = self._source(), self._name(context)
        size = self.max_inputs_per_run if self.split_inputs else max(self._count, 1)
        parts = chunked(self._count, size)
        if len(parts) == 1:
            return self._launch(lambda: iter(source), self._count, name)
        states: dict[str, RunState] = {}
        existing = self._read_earlier(
            "the parts launched earlier",
            lambda: runs_named(self.hook, self.action, f"{name}:part", states=states),
        )
        uids = []
        for k, (start, stop) in enumerate(parts, start=1):
            part = part_name(name, k, len(parts))
            uid = existing.get(part)
            state = states.get(part, RunState.UNKNOWN)
            if uid is not None and (not reusable(state) or uid in self.replaced_runs):
                self.log.info("Part %s (run %s) is not reused (%s); launching it again.", k, uid, state.value)
                uid = None
            if uid is None:
                uid = self._launch(lambda a=start, b=stop: slice_source(source, a, b), stop - start, part)
            uids.append(uid)
        self.log.info("Split %s inputs into %d runs: %s", f"{self._count:,}", len(uids), ", ".join(uids))
        return RunGroup.of(uids).run_id

    def _launch(self, inputs: Any, count: int, name: str) -> str:
        handle = self.hook.run_async(
            self.action,
            inputs,
            count=count,
            parameters=self.parameters,
            callback=self.callback,
            identity_mode=self.identity_mode,
            identity_ids=self.identity_ids,
            name=name,
        )
        uid = handle.get("run_uid") or handle.get("uid")
        if not uid:
            raise RunFailedError(f"Edges returned a launch handle without run_uid: keys {sorted(handle)}")
        return str(uid)

    def find_submitted(self, context: Any, since: datetime) -> str | None:
        """The newest run of this action carrying this task instance's name, created since ``since``.

        For a split batch, the group of its parts when every part exists (else ``None``: the
        retry's :meth:`submit` reuses the parts that exist and launches the others).
        """
        name = self._name(context)
        return named_run(runs_named(self.hook, self.action, name, since), name)

    # -- outcome ---------------------------------------------------------------------------
    def handle_status(self, context: Any, run_id: str, status: RunStatus) -> dict[str, Any] | None:
        """Apply the policies: partial success, blocked, stopped; write results before deciding."""
        action = status.action if status.state is RunState.NEEDS_ACTION else None
        if action is not None and action in PAUSE_ACTIONS:
            return self._on_paused(context, run_id, status, action)
        if status.state is RunState.FAILED:
            raise self.failure(run_id, status)
        manifest = self.build_manifest(context, run_id, status)
        if status.state is RunState.PARTIAL:
            counts = f"{manifest['succeeded_inputs']} inputs succeeded, {manifest['failed_inputs']} failed"
            if self.partial_success == "fail":
                raise RunFailedError(
                    f"Edges run {run_id} partially succeeded ({counts}); failed inputs: "
                    f"{manifest.get('failed_inputs_path') or 'see the run'}. Run: {self.run_url(run_id)}"
                )
            if self.partial_success == "skip":
                raise AirflowSkipException(f"Edges run {run_id} partially succeeded ({counts}); skipping")
        elif status.state is not RunState.SUCCEEDED:
            raise self.failure(run_id, status)
        return manifest

    def _on_paused(self, context: Any, run_id: str, status: RunStatus, action: ActionNeeded) -> Any:
        policy = self.pause_policy(action)
        resumes = int(self.wait_state.get("resumes", 0))
        if policy == "resume" and resumes < self.max_resumes:
            self.log.warning(
                "Run %s is %s (%s); resuming (%d of %d).",
                run_id,
                action.value,
                status.message,
                resumes + 1,
                self.max_resumes,
            )
            self.hook.resume_run(status.details.get("run_uid") or run_id)
            self.wait_state["resumes"] = resumes + 1
            return self.wait(context, run_id)
        what = f"is {action.value}" + (f" after {resumes} resumes" if policy == "resume" else "")
        raise self.failure(run_id, status, what=what)

    def lineage_datasets(self) -> tuple[list[str], list[str]]:
        """An async run reads ``inputs_path`` and writes ``output_path`` (once results were written)."""
        return lineage_paths(self.mode, self.inputs_path, self.__dict__.get("_written_output"))

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """Write outputs and failed inputs to their files; return paths and counts."""
        group = RunGroup.parse(run_id)
        runs = [self.hook.get_run(uid) for uid in group]
        manifest = {"run_id": run_id, **group_manifest(run_id, runs, status, self.run_url(run_id))}
        if status is None:
            return manifest
        manifest.update(
            write_batch_files(
                self.hook, run_id, manifest["output_count"], self.output_path, self.failed_inputs_path
            )
        )
        self._written_output = self.output_path
        return manifest
