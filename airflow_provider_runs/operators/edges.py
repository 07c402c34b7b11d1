"""Run an Edges action from Airflow: live, async over up to 100,000 inputs, or scheduled."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from airflow.providers.common.compat.sdk import AirflowSkipException

from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.edges import (
    ASSUMPTIONS,
    FAILED_INPUT_STATUSES,
    GROUP_SEPARATOR,
    EdgesHook,
    InputsTooManyError,
    check_action,
    check_callback,
    check_input,
    check_schedule,
    interpret_status,
    schedule_uid,
    split_group,
)
from airflow_provider_runs.inputs import InputSource, chunked, slice_source
from airflow_provider_runs.operators.base import BaseRunOperator, RunFailedError
from airflow_provider_runs.outputs import open_path
from airflow_provider_runs.validation import check_json, check_output_path, fail_without_retry

Mode = Literal["live", "async", "schedule"]
PARTIAL_POLICIES = ("fail", "succeed", "skip")
PAUSED_POLICIES = ("fail", "resume", "wait")


def run_name(dag_id: str, task_id: str, run_id: str, map_index: int) -> str:
    """The run ``name`` that marks a launch as this task instance's (Edges has no idempotency key)."""
    digest = hashlib.sha256(json.dumps([dag_id, task_id, run_id, map_index]).encode()).hexdigest()[:20]
    return f"airflow:{dag_id}.{task_id}:{digest}"[:255]


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
    :param edges_conn_id: the connection id (default ``edges_default``).
    :param identity_mode: ``direct``, ``auto`` or ``managed`` (default: the connection's).
    :param identity_ids: identity UIDs for ``direct`` mode.
    :param callback: ``{url, headers?, on?}``; default: the connection's ``callback_url``.
    :param output_path: JSON-lines file for the results. Templated.
    :param failed_inputs_path: JSON-lines file for the failed inputs and their errors. Templated.
    :param partial_success: on ``PARTIAL_SUCCEEDED``: ``"fail"`` (default), ``"succeed"`` or
        ``"skip"``; the message gives the succeeded/failed counts.
    :param on_blocked: on ``BLOCKED``: ``"fail"`` (default), ``"resume"`` (up to ``max_resumes``)
        or ``"wait"`` (until the deadline).
    :param on_stopped: the same for ``STOPPED``.
    :param max_resumes: how many times the task may resume the run.
    :param max_pages: live mode: the most result pages to follow.
    :param split_inputs: async mode: split more than ``max_inputs_per_run`` inputs into several
        runs, launched together and waited for together (one manifest for all of them).
    :param max_inputs_per_run: the size of each run when splitting (at most 100,000).
    :param cron: schedule mode: 5-field cron (omit for a one-shot schedule).
    :param timezone: schedule mode: IANA time zone (default UTC).
    :param schedule_at: schedule mode: first (or only) execution time.
    """

    hook_class = EdgesHook
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
    )
    template_fields_renderers = {"input": "json", "inputs": "json", "parameters": "json"}

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
        on_blocked: str = "fail",
        on_stopped: str = "fail",
        max_resumes: int = 3,
        max_pages: int = 10,
        cron: str | None = None,
        timezone: str | None = None,
        schedule_at: str | datetime | None = None,
        split_inputs: bool = False,
        max_inputs_per_run: int = ASSUMPTIONS["max_async_inputs"],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (
            not isinstance(max_inputs_per_run, int)
            or not 1 <= max_inputs_per_run <= ASSUMPTIONS["max_async_inputs"]
        ):
            raise ValueError(f"max_inputs_per_run must be between 1 and {ASSUMPTIONS['max_async_inputs']:,}")
        self.split_inputs = split_inputs
        self.max_inputs_per_run = max_inputs_per_run
        if mode not in ("live", "async", "schedule"):
            raise ValueError(f"mode must be live, async or schedule; got {mode!r}")
        for arg, value, allowed in (
            ("partial_success", partial_success, PARTIAL_POLICIES),
            ("on_blocked", on_blocked, PAUSED_POLICIES),
            ("on_stopped", on_stopped, PAUSED_POLICIES),
        ):
            if value not in allowed:
                raise ValueError(f"{arg} must be one of {', '.join(allowed)}; got {value!r}")
        if not isinstance(max_resumes, int) or max_resumes < 0:
            raise ValueError(f"max_resumes must be a non-negative integer; got {max_resumes!r}")
        if not isinstance(max_pages, int) or max_pages < 1:
            raise ValueError(f"max_pages must be a positive integer; got {max_pages!r}")
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
        self.on_blocked = on_blocked
        self.on_stopped = on_stopped
        self.max_resumes = max_resumes
        self.max_pages = max_pages
        self.cron = cron
        self.timezone = timezone
        self.schedule_at = schedule_at

    # -- arguments -----------------------------------------------------------------------
    def _source(self) -> InputSource:
        inputs = self.inputs
        if isinstance(inputs, str):
            try:
                inputs = json.loads(inputs)
            except ValueError:
                raise ValueError(
                    "inputs must be a list of JSON objects; got a string that is not JSON"
                ) from None
        return InputSource(items=inputs, path=self.inputs_path)

    def validate_arguments(self) -> None:
        """Check the mode's arguments (and count file inputs) before any call."""
        check_action(self.action)
        if self.parameters is not None:
            if not isinstance(self.parameters, Mapping):
                raise ValueError("parameters must be a JSON object")
            check_json(self.parameters, "parameters")
        check_callback(self.callback)
        self.output_path = check_output_path(self.output_path, "output_path")
        self.failed_inputs_path = check_output_path(self.failed_inputs_path, "failed_inputs_path")
        if self.mode == "live":
            if self.inputs is not None or self.inputs_path:
                raise ValueError('mode="live" takes one input: use input=..., not inputs or inputs_path')
            if not isinstance(self.input, Mapping):
                raise ValueError('mode="live" needs input=<a JSON object>')
            check_input(self.input, "input")
            return
        if self.input is not None:
            raise ValueError(f'mode="{self.mode}" takes inputs (a list) or inputs_path, not input')
        if (self.inputs is None) == (not self.inputs_path):
            raise ValueError(f'mode="{self.mode}" needs exactly one of inputs or inputs_path')
        limit = (
            ASSUMPTIONS["max_async_inputs"] if self.mode == "async" else ASSUMPTIONS["max_schedule_inputs"]
        )
        self._count = self._source().count()
        if self._count < 1:
            raise ValueError("inputs is empty: a run needs at least one input")
        splitting = self.mode == "async" and self.split_inputs
        if self._count > limit and not splitting:
            hint = " (pass split_inputs=True to run them as several runs)" if self.mode == "async" else ""
            raise InputsTooManyError(
                f"{self.mode} mode takes at most {limit:,} inputs per run; got {self._count:,}{hint}"
            )
        if self.mode != "schedule" and (self.cron or self.timezone or self.schedule_at):
            raise ValueError('cron, timezone and schedule_at are only for mode="schedule"')
        if self.mode == "schedule":
            check_schedule(self.cron, self.timezone, self.schedule_at)

    def stop_on_states(self) -> Sequence[RunState | str]:
        """BLOCKED / STOPPED end the wait unless their policy is ``"wait"``."""
        stop = []
        if self.on_blocked != "wait":
            stop.append("BLOCKED")
        if self.on_stopped != "wait":
            stop.append("STOPPED")
        return stop

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
                return self.secret_free(self._create_schedule(context))
            run_id, reattached = self.reattach_or_submit(context)
            return self.wait(context, run_id, reattached=reattached)

    def _run_live(self) -> Any:
        pages = list(
            self.hook.iter_live_pages(
                self.action,
                self.input,
                max_pages=self.max_pages,
                parameters=self.parameters,
                identity_mode=self.identity_mode,
                identity_ids=self.identity_ids,
            )
        )
        if len(pages) == 1 or not all(isinstance(p, list) for p in pages):
            return pages[0] if len(pages) == 1 else pages
        return [item for page in pages for item in page]

    def _name(self, context: Any) -> str:
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        return run_name(
            getattr(ti, "dag_id", None) or self.dag_id,
            self.task_id,
            getattr(ti, "run_id", None) or str(context.get("run_id")),
            map_index if isinstance(map_index, int) else -1,
        )

    def _create_schedule(self, context: Any) -> dict[str, Any]:
        name = self._name(context)
        for schedule in self.hook.iter_schedules(filters={"action_name": self.action}):
            if schedule.get("name") == name and schedule.get("status") != "CANCELLED":
                self.log.info("Schedule %s already exists for this task instance.", schedule_uid(schedule))
                return self._schedule_manifest(schedule)
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
        return self._schedule_manifest(schedule)

    def _schedule_manifest(self, schedule: Mapping[str, Any]) -> dict[str, Any]:
        uid = schedule_uid(schedule)
        return {
            "schedule_uid": uid,
            "status": schedule.get("status"),
            "cron": schedule.get("cron"),
            "next_execution_at": schedule.get("next_execution_at"),
        }

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
            "the parts launched earlier", lambda: self._runs_named(f"{name}:part", states=states)
        )
        uids = []
        for k, (start, stop) in enumerate(parts, start=1):
            part_name = f"{name}:part{k}of{len(parts)}"
            uid = existing.get(part_name)
            state = states.get(part_name, RunState.UNKNOWN)
            ended = state.is_terminal and state not in (RunState.SUCCEEDED, RunState.PARTIAL)
            if uid is not None and (ended or uid in self.replaced_runs):
                self.log.info("Part %s (run %s) is not reused (%s); launching it again.", k, uid, state.value)
                uid = None
            if uid is None:
                uid = self._launch(
                    lambda a=start, b=stop: slice_source(source, a, b), stop - start, part_name
                )
            uids.append(uid)
        self.log.info("Split %s inputs into %d runs: %s", f"{self._count:,}", len(uids), ", ".join(uids))
        return GROUP_SEPARATOR.join(uids)

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

    def _runs_named(
        self, prefix: str, since: datetime | None = None, *, states: dict[str, RunState] | None = None
    ) -> dict[str, str]:
        """``{name: uid}`` of this action's recent runs whose name starts with ``prefix`` (the
        newest run of each name); ``states``, when given, receives each one's listed state."""
        found: dict[str, str] = {}
        for run in self.hook.iter_runs(filters={"action_name": [self.action]}, sort="-created_at"):
            created = _parse_time(run.get("created_at"))
            if since is not None and created is not None and created < since:
                break
            name = run.get("name") or ""
            if name.startswith(prefix) and name not in found:
                found[name] = str(run["uid"])
                if states is not None:
                    states[name] = interpret_status(run.get("status")).state
        return found

    def find_submitted(self, context: Any, since: datetime) -> str | None:
        """The newest run of this action carrying this task instance's name, created since ``since``.

        For a split batch, the group of its parts when every part exists (else ``None``: the
        retry's :meth:`submit` reuses the parts that exist and launches the others).
        """
        name = self._name(context)
        runs = self._runs_named(name, since)
        if name in runs:
            return runs[name]
        parts = {n: uid for n, uid in runs.items() if n.startswith(f"{name}:part")}
        if parts:
            total = int(next(iter(parts)).rsplit("of", 1)[-1])
            ordered = [parts.get(f"{name}:part{k}of{total}") for k in range(1, total + 1)]
            if all(ordered):
                return GROUP_SEPARATOR.join(ordered)  # type: ignore[arg-type]
        return None

    def run_url(self, run_id: str) -> str:
        """The URL of the run (of the first run of a split batch)."""
        return self.hook.run_url(split_group(run_id)[0])

    # -- outcome ---------------------------------------------------------------------------
    def handle_status(self, context: Any, run_id: str, status: RunStatus) -> dict[str, Any] | None:
        """Apply the policies: partial success, blocked, stopped; write results before deciding."""
        raw = str(status.raw_status)
        if raw in ("BLOCKED", "STOPPED"):
            return self._on_paused(context, run_id, status, raw)
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

    def _on_paused(self, context: Any, run_id: str, status: RunStatus, raw: str) -> Any:
        policy = self.on_blocked if raw == "BLOCKED" else self.on_stopped
        resumes = int(self.wait_state.get("resumes", 0))
        if policy == "resume" and resumes < self.max_resumes:
            self.log.warning(
                "Run %s is %s (%s); resuming (%d of %d).",
                run_id,
                raw,
                status.message,
                resumes + 1,
                self.max_resumes,
            )
            self.hook.resume_run(status.details.get("run_uid") or run_id)
            self.wait_state["resumes"] = resumes + 1
            return self.wait(context, run_id)
        what = f"is {raw}" + (f" after {resumes} resumes" if policy == "resume" else "")
        raise self.failure(run_id, status, what=what)

    def build_manifest(self, context: Any, run_id: str, status: RunStatus | None) -> dict[str, Any]:
        """Write outputs and failed inputs to their files; return paths and counts."""
        uids = split_group(run_id)
        runs = [self.hook.get_run(uid) for uid in uids]
        counts = [r.get("output_count") for r in runs]
        manifest: dict[str, Any] = {
            "run_uid": run_id,
            "status": status.raw_status if status is not None and len(uids) > 1 else runs[0].get("status"),
            "url": self.run_url(run_id),
            "output_count": sum(c for c in counts if isinstance(c, int)),
        }
        if len(uids) > 1:
            manifest["runs"] = [{"run_uid": r.get("uid"), "status": r.get("status")} for r in runs]
        if status is None:
            return manifest
        written = self._write_outputs(uids)
        expected = manifest["output_count"]
        if written < expected:
            raise RunFailedError(
                f"Edges run {run_id} reports {expected} results but only {written} could be read. "
                f"Run: {self.run_url(run_id)}"
            )
        total, failed = self._write_failed_inputs(uids)
        manifest.update(
            {
                "results": written,
                "output_path": self.output_path,
                "inputs": total,
                "failed_inputs": failed,
                "failed_inputs_path": self.failed_inputs_path if failed or self.failed_inputs_path else None,
                "succeeded_inputs": total - failed,
            }
        )
        return manifest

    def _write_outputs(self, uids: list[str]) -> int:
        """Stream every result of the runs to ``output_path`` (JSON lines); return the count."""
        count = 0
        items = (item for uid in uids for item in self.hook.iter_outputs(uid))
        if self.output_path:
            target = open_path(self.output_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("w") as handle:
                for item in items:
                    handle.write(json.dumps(item, separators=(",", ":")) + "\n")
                    count += 1
        else:
            count = sum(1 for _ in items)
        return count

    def _write_failed_inputs(self, uids: list[str]) -> tuple[int, int]:
        """Stream the runs' inputs once: write the failed ones; return ``(inputs, failed)``."""
        total = count = 0
        handle = None
        try:
            for item in (item for uid in uids for item in self.hook.iter_inputs(uid)):
                total += 1
                if item.get("status") not in FAILED_INPUT_STATUSES:
                    continue
                if handle is None and self.failed_inputs_path:
                    target = open_path(self.failed_inputs_path)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    handle = target.open("w")
                record = {
                    "uid": item.get("uid"),
                    "status": item.get("status"),
                    "input": item.get("input_data"),
                    "custom_data": item.get("custom_data"),
                    "error": item.get("last_error"),
                }
                if handle is not None:
                    handle.write(json.dumps(record, separators=(",", ":")) + "\n")
                count += 1
        finally:
            if handle is not None:
                handle.close()
        return total, count


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        from datetime import timezone

        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed
