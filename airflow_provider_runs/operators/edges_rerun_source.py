"""Where the failed inputs of an Edges rerun come from, and what the first run was.

Exactly one source (:func:`check_source`, before any call):

- ``run_uid``: a run (or a split batch, ``uid1,uid2,...``) that ended ``PARTIAL_SUCCEEDED`` or
  ``FAILED``; its inputs are read from the service (``GET /runs/{uid}/inputs``, 100 a page);
- ``manifest``: the XCom result of an :class:`~airflow_provider_runs.operators.edges.EdgesActionOperator`
  (or of an earlier rerun): its run, counts and files. When its ``failed_inputs_path`` file can be
  read, the failed inputs come from it (no request per 100 inputs), else from the service;
- ``source_task_id``: that manifest, pulled from the XCom of the task that ran the batch (its
  ``run_id`` XCom when it failed before returning one, e.g. on ``partial_success="fail"``);
- ``failed_inputs_path``: a JSON-lines (or ``.json`` array) file of failed inputs: the records an
  Edges task wrote (``{uid, status, input, custom_data, error}``) or plain inputs.

:func:`resolve` reads the source once, counts its inputs (:mod:`.edges_failed_inputs` decides
which failed) and, when given a file to spool to, writes the inputs to send again there (one
JSON object a line: never all in memory).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import IO, Any

from airflow_provider_runs.core.states import RunState
from airflow_provider_runs.hooks.edges import EdgesHook, RunGroup
from airflow_provider_runs.hooks.edges_groups import combine_statuses
from airflow_provider_runs.hooks.edges_states import status_of
from airflow_provider_runs.links import RUN_ID_XCOM_KEY
from airflow_provider_runs.operators.edges_failed_inputs import (
    FAILED,
    Counts,
    Scan,
    input_outcome,
    rerun_input,
    rerun_number_of,
)
from airflow_provider_runs.outputs import open_path
from airflow_provider_runs.validation import check_path_segment
from airflow_provider_runs.waiting.errors import RunFailedError, RunFailedNoRetryError

SOURCES = ("run_uid", "manifest", "source_task_id", "failed_inputs_path")
"""The arguments that name where the failed inputs come from (exactly one is given)."""
RERUNNABLE = ("PARTIAL_SUCCEEDED", "FAILED", "SUCCEEDED")
"""Run statuses whose inputs may be rerun (a ``SUCCEEDED`` run simply has none that failed)."""


def parse_manifest(value: Any) -> dict[str, Any]:
    """A manifest argument as a dict: a mapping, or its text (JSON, or the Python literal a
    template renders a dict to); it must name its run (``run_uid`` or ``run_id``).

    :param value: the rendered ``manifest`` argument.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise ValueError("manifest must be a JSON object (an Edges task's XCom result)") from None
    if not isinstance(value, Mapping):
        raise ValueError(
            f"manifest must be a JSON object (an Edges task's XCom result); got {type(value).__name__}"
        )
    if not (value.get("run_uid") or value.get("run_id")):
        raise ValueError("manifest names no run: it needs run_uid (the XCom result of an Edges task)")
    return dict(value)


def check_run_uid(value: Any, name: str) -> str:
    """A run uid, or a split batch's ``uid1,uid2,...``; each uid checked as a path segment.

    :param value: the value.
    :param name: the argument it came from, for the error.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be an Edges run uid; got {value!r}")
    for uid in RunGroup.parse(value.strip()):
        check_path_segment(uid, name)
    return value.strip()


def check_source(
    *, run_uid: Any, manifest: Any, source_task_id: Any, failed_inputs_path: Any, action: Any
) -> None:
    """Exactly one source, each of the right shape; a file alone needs ``action`` (no run to
    read it from). Raises ``ValueError`` naming the argument; no call is made.
    """
    given = {
        "run_uid": run_uid,
        "manifest": manifest,
        "source_task_id": source_task_id,
        "failed_inputs_path": failed_inputs_path,
    }
    named = [name for name, value in given.items() if value not in (None, "")]
    if len(named) != 1:
        shown = ", ".join(named) if named else "none"
        raise ValueError(f"give exactly one of {', '.join(SOURCES)} (the run to rerun); got {shown}")
    if run_uid:
        check_run_uid(run_uid, "run_uid")
    if manifest:
        uid = parse_manifest(manifest)
        check_run_uid(uid.get("run_uid") or uid.get("run_id"), "manifest")
    if source_task_id is not None and not isinstance(source_task_id, str):
        raise ValueError(f"source_task_id must be a task id; got {type(source_task_id).__name__}")
    if failed_inputs_path:
        if not isinstance(failed_inputs_path, str):
            raise ValueError(
                f"failed_inputs_path must be a file path or URL; got {type(failed_inputs_path).__name__}"
            )
        if not action:
            raise ValueError("action is required with failed_inputs_path (there is no run to read it from)")


@dataclass
class FirstRun:
    """What a rerun knows of the run it reruns: small, JSON-safe (it rides the deferral).

    :param run_uid: the first run (or split batch); ``None`` for a file alone.
    :param status: its status.
    :param action: its action slug.
    :param parameters: its parameters as submitted.
    :param inputs: how many inputs it had (``None``: unknown, a file alone).
    :param failed: how many of them failed (sent again).
    :param no_data: how many ended ``NO_RESULT``/``STATUS_404`` (counted as succeeded).
    :param results: its result rows (``None``: unknown).
    :param output_path: its results file, when known (the rerun's goes beside it).
    :param failed_inputs_path: its failed-inputs file, when known (likewise).
    :param rerun: the number of this rerun (1, or one more than the source's).
    :param baseline: the merged counts of an earlier rerun chain (a rerun's manifest as source).
    """

    run_uid: str | None = None
    status: str | None = None
    action: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: int | None = None
    failed: int = 0
    no_data: int = 0
    results: int | None = None
    output_path: str | None = None
    failed_inputs_path: str | None = None
    rerun: int = 1
    baseline: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form (the deferral's kwargs carry it)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> FirstRun:
        """Read :meth:`as_dict`."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in names})

    def counts(self) -> Counts:
        """The counts a rerun merges into: an earlier chain's merged counts, else this run's."""
        if self.baseline:
            return Counts.from_dict(self.baseline)
        succeeded = None if self.inputs is None else self.inputs - self.failed
        return Counts(self.inputs, succeeded, self.failed, self.results)

    def summary(self) -> dict[str, Any]:
        """The manifest's ``first_run``."""
        succeeded = None if self.inputs is None else self.inputs - self.failed
        return {
            "run_uid": self.run_uid,
            "status": self.status,
            "inputs": self.inputs,
            "succeeded_inputs": succeeded,
            "failed_inputs": self.failed,
            "no_data_inputs": self.no_data,
            "results": self.results,
            "output_path": self.output_path,
            "failed_inputs_path": self.failed_inputs_path,
        }


def pull_manifest(context: Any, task_id: str) -> dict[str, Any]:
    """The manifest of task ``task_id`` in this DAG run: its XCom result, else (a task that
    failed after creating its run) the ``run_id`` it pushed before waiting.

    :param context: the running task's context.
    :param task_id: the task that ran the batch.
    """
    ti = context["ti"]
    value = _one(ti.xcom_pull(task_ids=task_id))
    if isinstance(value, Mapping) and (value.get("run_uid") or value.get("run_id")):
        return dict(value)
    run_id = _one(ti.xcom_pull(task_ids=task_id, key=RUN_ID_XCOM_KEY))
    if isinstance(run_id, str) and run_id:
        return {"run_uid": run_id}
    raise ValueError(
        f"source_task_id {task_id!r} left no Edges run in XCom (no manifest, no run_id): did it run "
        "in this DAG run and create its run?"
    )


def resolve(
    hook: EdgesHook,
    context: Any,
    *,
    run_uid: str | None = None,
    manifest: Any = None,
    source_task_id: str | None = None,
    failed_inputs_path: str | None = None,
    spool: IO[str] | None = None,
    log: Any = None,
) -> FirstRun:
    """Read the source once: the first run's status, action and counts; the inputs to send again
    written to ``spool`` (JSON lines) when given.

    :param hook: the Edges hook.
    :param context: the task's context (for ``source_task_id``).
    :param run_uid: see the module's docstring (exactly one of the four is given).
    :param manifest: likewise.
    :param source_task_id: likewise.
    :param failed_inputs_path: likewise.
    :param spool: an open text file receiving the inputs to send again, or ``None`` (count only).
    :param log: a logger for what was read where.
    :raises RunFailedError: the run has not ended yet (a later try may find it ended).
    :raises RunFailedNoRetryError: the run ended in a way a rerun cannot mend (``INVALID``).
    """
    source: dict[str, Any] = {}
    if source_task_id:
        source = pull_manifest(context, source_task_id)
    elif manifest:
        source = parse_manifest(manifest)
    uid = run_uid or source.get("run_uid") or source.get("run_id")
    first = FirstRun(run_uid=str(uid) if uid else None)
    if isinstance(source.get("merged"), Mapping):
        first.baseline = dict(source["merged"])
    if source:
        first.rerun = _count_of(source.get("rerun")) + 1
        first.output_path = source.get("output_path") or None
        first.failed_inputs_path = source.get("failed_inputs_path") or None
        first.inputs = _count_of(source.get("inputs"), None)
    if failed_inputs_path:
        first.failed_inputs_path = failed_inputs_path
        first.rerun = rerun_number_of(failed_inputs_path) + 1
    if first.run_uid:
        _read_run(hook, first)
    scan = Scan()
    file_path = failed_inputs_path or _readable(first.failed_inputs_path)
    if file_path and (failed_inputs_path or first.inputs is not None):
        if log is not None:
            log.info("Reading the failed inputs from %s.", file_path)
        items: Iterator[Mapping[str, Any]] = _file_records(file_path, "failed_inputs_path")
        from_service = False
    else:
        assert first.run_uid  # check_source: a source without a file names a run
        if log is not None:
            log.info("Reading the inputs of run %s from Edges.", first.run_uid)
        items = (item for uid in RunGroup.parse(first.run_uid) for item in hook.iter_inputs(uid))
        from_service = True
    for item in items:
        outcome = input_outcome(item)
        scan.add(outcome)
        if outcome == FAILED and spool is not None:
            spool.write(json.dumps(rerun_input(item), separators=(",", ":")) + "\n")
    first.failed, first.no_data = scan.failed, scan.no_data
    if from_service:
        first.inputs = scan.total
    if log is not None:
        log.info("First run %s: %s.", first.run_uid or failed_inputs_path, scan.as_dict())
    return first


def _read_run(hook: EdgesHook, first: FirstRun) -> None:
    """Fill the first run's status, action, parameters and result count; refuse one not ended."""
    assert first.run_uid
    group = RunGroup.parse(first.run_uid)
    runs = [hook.get_run(uid) for uid in group]
    statuses = [(str(run.get("uid")), status_of(run)) for run in runs]
    status = combine_statuses(statuses) if group.is_split else statuses[0][1]
    raw = str(status.raw_status)
    url = hook.run_url(first.run_uid)
    if not status.state.is_terminal:
        raise RunFailedError(
            f"Edges run {first.run_uid} has not ended (status {raw!r}): its failed inputs are not "
            f"known yet. Run: {url}"
        )
    if raw not in RERUNNABLE:
        raise RunFailedNoRetryError(
            f"Edges run {first.run_uid} ended {raw} ({status.message or 'no message'}): only "
            f"PARTIAL_SUCCEEDED or FAILED runs can be rerun. Run: {url}"
        )
    first.status = raw if status.state is not RunState.UNKNOWN else None
    first.action = str(runs[0].get("action_name") or "") or None
    params = runs[0].get("parameters")
    first.parameters = dict(params) if isinstance(params, Mapping) and params else None
    counts = [run.get("output_count") for run in runs]
    first.results = sum(c for c in counts if isinstance(c, int))


def _readable(path: str | None) -> str | None:
    """``path`` when it is a file that exists here (a manifest's file may be on another worker)."""
    if not path:
        return None
    try:
        return path if open_path(path).exists() else None
    except Exception:  # an object store without credentials here: read the service instead
        return None


def _file_records(path: str, name: str) -> Iterator[Mapping[str, Any]]:
    """The JSON objects of a ``.json`` array file or a JSON-lines file; errors name ``name``."""
    target = open_path(path)
    if not target.exists():
        raise ValueError(f"{name} {path!r} does not exist")
    with target.open("r") as handle:
        if path.lower().endswith(".json"):
            try:
                items = json.load(handle)
            except ValueError as exc:
                raise ValueError(f"{name} {path}: not valid JSON ({exc})") from None
            if not isinstance(items, list):
                raise ValueError(f"{name} {path}: a .json file must hold an array of objects")
            for i, item in enumerate(items):
                if not isinstance(item, Mapping):
                    raise ValueError(f"{name} {path} item {i}: expected a JSON object")
                yield item
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                raise ValueError(f"{name} {path} line {number}: not valid JSON") from None
            if not isinstance(item, Mapping):
                raise ValueError(f"{name} {path} line {number}: expected a JSON object")
            yield item


def _one(value: Any) -> Any:
    """An XCom pull's value (a one-element list when the pull answered a list)."""
    if isinstance(value, list | tuple) and len(value) == 1:
        return value[0]
    return value


def _count_of(value: Any, default: int | None = 0) -> Any:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
