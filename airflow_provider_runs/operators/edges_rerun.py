"""Rerun only what failed: one Edges run over just the failed inputs of an earlier run.

The analogue of dbt Cloud's ``retry_from_failure``. See
:class:`EdgesRerunFailedInputsOperator`; where the failed inputs come from is
:mod:`.edges_rerun_source`, which inputs count as failed :mod:`.edges_failed_inputs`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.hooks.edges_groups import RunGroup, group_manifest
from airflow_provider_runs.hooks.edges_requests import check_action, check_callback, check_parameters
from airflow_provider_runs.operators.edges import EdgesActionOperator
from airflow_provider_runs.operators.edges_failed_inputs import (
    FAILED,
    Counts,
    input_outcome,
    merge,
    rerun_path,
)
from airflow_provider_runs.operators.edges_rerun_source import FirstRun, check_source, resolve
from airflow_provider_runs.operators.edges_results import write_batch_files
from airflow_provider_runs.validation import (
    check_json,
    check_output_path,
    fail_without_retry,
    templated_object,
)

NOT_ARGUMENTS = ("mode", "input", "inputs", "inputs_path", "cron", "timezone", "schedule_at")
"""Arguments of :class:`EdgesActionOperator` a rerun does not take: its inputs are the first run's
failed ones, launched async."""
FIRST_RUN_STATE = "first_run"
"""The key of the first run's summary in ``wait_state`` (it rides the deferral)."""


def failed_again(item: Mapping[str, Any]) -> bool:
    """Whether a rerun's input row still failed (:func:`~.edges_failed_inputs.input_outcome`)."""
    return input_outcome(item) == FAILED


class EdgesRerunFailedInputsOperator(EdgesActionOperator):
    """Launch one Edges run over just the inputs that failed in an earlier run, and merge the counts.

    **Which run**: exactly one of ``run_uid`` (a run, or a split batch ``uid1,uid2,...``, that
    ended ``PARTIAL_SUCCEEDED`` or ``FAILED``), ``manifest`` (the XCom result of an Edges task or
    of an earlier rerun), ``source_task_id`` (that task's manifest pulled from XCom; its ``run_id``
    when it failed before returning one) or ``failed_inputs_path`` (a JSON-lines or ``.json``
    file of failed inputs, e.g. the one an Edges task wrote). A run that has not ended fails the
    try (retried); an ``INVALID`` one fails the task.

    **Which inputs**: every input of the first run that did not succeed: ``FAILED``, ``BLOCKED``
    and unfinished ones. ``FAILED`` inputs labelled ``NO_RESULT`` or ``STATUS_404`` count as
    succeeded: the service counts them as "no data" outcomes since 2026-02 (``specs/edges.md``
    §3); the action ran and found nothing, and would find nothing again. They are streamed
    through a local spool file into the launch body, never all in memory. Nothing failed: no run
    is launched and the manifest says so.

    **Where results go**: beside the first ones. With a manifest as the source, results go to
    ``<output>.rerun-N.<ext>`` and inputs that fail again to ``<failed>.rerun-N.<ext>`` (N: 1, or
    one more than the source's ``rerun``: a rerun of a rerun writes ``-2``); ``output_path`` and
    ``still_failed_path`` override them. With a run uid alone nothing is written unless given.

    **Manifest** (XCom): the rerun's own ``run_uid``, ``status``, ``url``, ``results``,
    ``inputs``, ``succeeded_inputs``, ``failed_inputs`` and files, plus ``rerun`` (N),
    ``first_run`` (its run, status and counts) and ``merged`` (``inputs``, ``succeeded_inputs``,
    ``failed_inputs``, ``results`` across the first run and the rerun; for a rerun of a rerun,
    across the whole chain).

    **Retries never send twice**: the rerun is an ordinary Edges launch named after this task
    instance (Edges has no idempotency key), recorded in the task state store before it is
    waited on. A retry (or a launch that failed after it landed) finds that run (state store,
    else by its name among the action's recent runs) and reattaches to it; it launches again
    only when that run definitely ended ``FAILED``/``INVALID`` (none of its inputs succeeded).
    What is sent is computed from the first run, whose input statuses no longer change, so a
    retry sends the same failed inputs, never one that succeeded. A user clear after success
    starts a new rerun (a clear means "do it again"); to try what still fails, chain a second
    rerun on this one's manifest.

    Outcome policies (``partial_success``, ``on_needs_action``, ``max_resumes``), the
    identity and callback arguments and the waiting arguments are :class:`EdgesActionOperator`'s,
    passed as keyword arguments; ``mode``, ``input``, ``inputs``, ``inputs_path`` and the
    schedule arguments are refused.

    :param run_uid: the run to rerun (or a split batch's ``uid1,uid2,...``). Templated.
    :param manifest: an Edges task's XCom result (a dict, or its JSON text). Templated.
    :param source_task_id: the task (in this DAG run) whose manifest is the source. Templated.
    :param failed_inputs_path: a file of failed inputs (JSON lines, or a ``.json`` array).
        Templated.
    :param action: the action slug; default: the first run's (required with a file alone). Templated.
    :param parameters: the action parameters; default: the first run's. Templated.
    :param output_path: the rerun's results file (JSON lines); default beside the first results.
        Templated.
    :param still_failed_path: the file of inputs that failed again, with their errors; default
        beside the first run's failed-inputs file. Templated.
    :param edges_conn_id: the connection id (default ``edges_default``). Templated.
    """

    template_fields: Sequence[str] = tuple(
        dict.fromkeys(
            [f for f in EdgesActionOperator.template_fields if f not in NOT_ARGUMENTS]
            + [
                "run_uid",
                "manifest",
                "source_task_id",
                "failed_inputs_path",
                "action",
                "parameters",
                "output_path",
                "still_failed_path",
                "edges_conn_id",
            ]
        )
    )
    template_fields_renderers = {"parameters": "json", "manifest": "json"}

    def __init__(
        self,
        *,
        run_uid: str | None = None,
        manifest: Mapping[str, Any] | str | None = None,
        source_task_id: str | None = None,
        failed_inputs_path: str | None = None,
        action: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        output_path: str | None = None,
        still_failed_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        refused = [name for name in NOT_ARGUMENTS if name in kwargs]
        if refused:
            raise ValueError(
                f"{', '.join(refused)}: not arguments of EdgesRerunFailedInputsOperator (it launches "
                "one async run over the failed inputs of the run it reruns)"
            )
        super().__init__(
            action=action or "",
            mode="async",
            parameters=parameters,
            output_path=output_path,
            failed_inputs_path=failed_inputs_path,
            **kwargs,
        )
        self.run_uid = run_uid
        self.manifest = manifest
        self.source_task_id = source_task_id
        self.still_failed_path = still_failed_path
        self._spool_path: str | None = None

    def validate_arguments(self) -> None:
        """Check the source and the files before any call (``ValueError`` naming the argument)."""
        check_source(
            run_uid=self.run_uid,
            manifest=self.manifest,
            source_task_id=self.source_task_id,
            failed_inputs_path=self.failed_inputs_path,
            action=self.action,
        )
        if self.action:
            check_action(self.action)
        if self.parameters is not None:
            self.parameters = templated_object(self.parameters, "parameters")
            if check_parameters(self.parameters) is not None:
                check_json(self.parameters, "parameters")
        self.callback = templated_object(self.callback, "callback")
        check_callback(self.callback)
        self.output_path = check_output_path(self.output_path, "output_path")
        self.still_failed_path = check_output_path(self.still_failed_path, "still_failed_path")

    # -- the first run ---------------------------------------------------------------------
    def _read_first_run(self, context: Any, *, spool: str | None) -> FirstRun:
        """Read the source (writing the inputs to send again to ``spool``); adopt its action,
        parameters and file names where none were given; keep its summary for the wait."""
        if spool is None:
            first = self._resolve(context, None)
        else:
            with open(spool, "w") as handle:
                first = self._resolve(context, handle)
        self.wait_state[FIRST_RUN_STATE] = {**first.as_dict(), "parameters": None}
        if not self.action:
            self.action = first.action or ""
            check_action(self.action)
        if self.parameters is None and first.parameters:
            self.parameters = first.parameters
        return first

    def _resolve(self, context: Any, spool: Any) -> FirstRun:
        return resolve(
            self.hook,
            context,
            run_uid=self.run_uid,
            manifest=self.manifest,
            source_task_id=self.source_task_id,
            failed_inputs_path=self.failed_inputs_path,
            spool=spool,
            log=self.log,
        )

    def _first_run(self, context: Any) -> FirstRun:
        """The first run's summary: kept from the start of the try, else read again."""
        kept = self.wait_state.get(FIRST_RUN_STATE)
        return FirstRun.from_dict(kept) if kept else self._read_first_run(context, spool=None)

    def _files(self, first: FirstRun) -> tuple[str | None, str | None]:
        """``(results file, still-failed file)``: given, else beside the first run's."""
        return (
            self.output_path or rerun_path(first.output_path, first.rerun),
            self.still_failed_path or rerun_path(first.failed_inputs_path, first.rerun),
        )

    # -- running ---------------------------------------------------------------------------
    def execute(self, context: Any) -> Any:
        """Read the first run, then reattach to this task instance's rerun or launch it once, and
        wait (deferred or here). Bad arguments fail before any call, without retrying."""
        with fail_without_retry():
            self.check_arguments()
            with tempfile.TemporaryDirectory(prefix="edges-rerun-") as folder:
                self._spool_path = os.path.join(folder, "failed-inputs.jsonl")
                try:
                    first = self._read_first_run(context, spool=self._spool_path)
                    if first.failed == 0:
                        return self.secret_free(self._nothing_to_rerun(first))
                    self.log.info(
                        "Rerunning %s failed inputs of run %s (rerun %d).",
                        f"{first.failed:,}",
                        first.run_uid or self.failed_inputs_path,
                        first.rerun,
                    )
                    run_id, reattached = self.reattach_or_submit(context)
                finally:
                    self._spool_path = None
            return self.wait(context, run_id, reattached=reattached)

    def submit(self, context: Any) -> str:
        """Launch the rerun over the spooled failed inputs (read again when this try has none)."""
        if self._spool_path and Path(self._spool_path).exists():
            first = self._first_run(context)
            return self._launch_spooled(context, self._spool_path, first.failed)
        with tempfile.TemporaryDirectory(prefix="edges-rerun-") as folder:
            spool = os.path.join(folder, "failed-inputs.jsonl")
            first = self._read_first_run(context, spool=spool)
            return self._launch_spooled(context, spool, first.failed)

    def _launch_spooled(self, context: Any, spool: str, count: int) -> str:
        """:meth:`EdgesActionOperator.submit` over the spool file (split when ``split_inputs``)."""
        self.inputs, self.inputs_path, self._count = None, spool, count
        try:
            return super().submit(context)
        finally:
            self.inputs_path = None

    def _nothing_to_rerun(self, first: FirstRun) -> dict[str, Any]:
        self.log.info("No input of %s failed: nothing to rerun.", first.run_uid or self.failed_inputs_path)
        rerun = Counts(0, 0, 0, 0)
        return {
            "run_id": None,
            "run_uid": None,
            "status": None,
            "rerun": first.rerun,
            "sent_inputs": 0,
            **rerun.as_manifest(),
            "first_run": first.summary(),
            "merged": merge(first.counts(), 0, rerun).as_manifest(),
        }

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """Write the rerun's results and still-failed inputs beside the first ones; return the
        rerun's counts with ``first_run`` and ``merged``."""
        first = self._first_run(context)
        group = RunGroup.parse(run_id)
        runs = [self.hook.get_run(uid) for uid in group]
        manifest = group_manifest(run_id, runs, status, self.run_url(run_id))
        manifest.update(
            {
                "run_id": run_id,
                "rerun": first.rerun,
                "sent_inputs": first.failed,
                "first_run": first.summary(),
            }
        )
        if status is None:
            return manifest
        output_path, still_failed_path = self._files(first)
        files = write_batch_files(
            self.hook, run_id, manifest["output_count"], output_path, still_failed_path, failed_again
        )
        self._written_output = output_path
        manifest.update(files)
        rerun = Counts(files["inputs"], files["succeeded_inputs"], files["failed_inputs"], files["results"])
        manifest["merged"] = merge(first.counts(), first.failed, rerun).as_manifest()
        return manifest

    def lineage_datasets(self) -> tuple[list[str], list[str]]:
        """Reads the failed-inputs file (when that is the source); writes the rerun's results."""
        written = self.__dict__.get("_written_output")
        return ([self.failed_inputs_path] if self.failed_inputs_path else []), ([written] if written else [])
