"""Soak: many runs across the three services, through the operators' real paths, under faults.

Every task goes execute -> TaskDeferred -> serialized trigger -> event -> execute_complete, as
Airflow runs it, against the emulator in its own process while it injects 429/500/503 answers
(with and without Retry-After), dropped connections and latency. Some first tries crash right
after creating their run (the worker dies) and are retried with the same task state store. The
triggers' event loop is stopped midway and every unfinished trigger is rebuilt from its
serialized form in a new loop, as a restarted triggerer does. Every run's outcome is scripted,
so the check is exact: one run created per task, none lost, no wrong outcome.

``make soak`` runs 1,000 tasks; ``tests/soak/test_soak.py`` a reduced run inside ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="runs-soak-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import requests  # noqa: E402
from airflow.providers.common.compat.module_loading import import_string  # noqa: E402
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred  # noqa: E402

from airflow_provider_runs.links import RUN_ID_XCOM_KEY  # noqa: E402
from airflow_provider_runs.operators.base import RunFailedError  # noqa: E402
from airflow_provider_runs.testing.emulator import connection_env_for  # noqa: E402
from airflow_provider_runs.testing.emulator.connections import DEFAULT_KEYS  # noqa: E402
from airflow_provider_runs.testing.emulator.server import (  # noqa: E402
    start_emulator_process,
    stop_emulator_process,
)
from soak.hostile import TrapServer, hostile_rules  # noqa: E402

from support import FakeStateStore, SiblingTI, XComTable, task_context  # noqa: E402

SERVICES = ("inference_sh", "inferable", "edges")
HOSTILE_CONNECTION_EXTRAS = {"total_timeout": 4, "max_retry_after": 3}
"""What the soak's connections set: a drip-fed answer is cut after 4 s, an absurd Retry-After
waits 3 s at most (the defaults, 300 s and 600 s, would only make the soak long)."""
MAX_TRIES = 3
"""Like ``retries=2``: a try that fails for a reason other than the run's outcome is retried."""


class SimulatedCrash(Exception):
    """The worker process died right after the create call returned."""


def fault_rules(share: float = 0.20, drops: float = 0.05, latency: float = 2.0) -> list[dict[str, Any]]:
    """``share`` of requests answered 429/500/503, ``drops`` dropped, 30% up to ``latency`` late.

    The emulator tries rules in order, each with its own probability, so the probabilities are
    conditional: these add up to the wanted overall shares.
    """
    statuses = [(429, 2), (429, None), (500, None), (503, 1), (503, None)]
    # A latency rule delays a request, then the other rules still roll for it.
    rules: list[dict[str, Any]] = [{"kind": "latency", "latency": latency, "probability": 0.3}]
    left = 1.0
    for status, retry_after in statuses:
        p = share / len(statuses) / left
        rules.append({"kind": "status", "status": status, "retry_after": retry_after, "probability": p})
        left -= share / len(statuses)
    rules.append({"kind": "drop", "probability": drops / left, "phase": "after"})  # left: not faulted before
    return rules


@dataclass
class SoakTask:
    """One task instance of the soak: its script, its tries and what became of it.

    ``pair``: the task instance is map index 0 or 1 of a task whose two instances send the
    identical request (same input, same tag), so only the claims tell their runs apart.
    ``legacy``: Airflow 3.1's path, no task state store (a retry looks its run up).
    """

    index: int
    service: str
    expect: str  # "success" | "failed"
    crash_first_try: bool
    duration: float
    run_id: str
    xcoms: XComTable
    pair: int | None = None
    map_index: int = 0
    legacy: bool = False
    store: FakeStateStore = field(default_factory=FakeStateStore)
    tries: int = 0
    crashes: int = 0
    trigger: tuple[str, dict[str, Any]] | None = None
    resume: tuple[str, dict[str, Any]] | None = None
    event: dict[str, Any] | None = None
    outcome: str | None = None
    error: str | None = None

    @property
    def tag(self) -> str:
        return f"{self.run_id}-p{self.pair}" if self.pair is not None else f"{self.run_id}-{self.index}"

    @property
    def task_id(self) -> str:
        return f"pair_{self.pair}" if self.pair is not None else f"task_{self.index}"

    def context(self, new_try: bool) -> dict[str, Any]:
        ti = SiblingTI(
            self.xcoms,
            self.tries,
            map_index=self.map_index,
            task_id=self.task_id,
            dag_id="soak",
            run_id=self.run_id,
            new_try=new_try,
        )
        return task_context(ti, None if self.legacy else self.store)

    def final_run_id(self) -> str | None:
        """The run id this task instance published last (its run)."""
        return self.xcoms.rows.get((self.task_id, self.map_index, RUN_ID_XCOM_KEY))  # type: ignore[return-value]


def build_operator(task: SoakTask, crash: bool) -> Any:
    """A fresh operator object (as each Airflow try or resume builds one)."""
    from airflow_provider_runs.operators.edges import EdgesActionOperator
    from airflow_provider_runs.operators.inferable import InferableRunOperator
    from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

    ok = task.expect == "success"
    common = {"task_id": task.task_id, "deferrable": True, "poll_interval": 1.0, "timeout": 900}
    if task.service == "inference_sh":
        scenario = {"outcome": "completed" if ok else "failed", "duration": task.duration}
        cls: type = InferenceShTaskOperator
        kwargs = {"app": "acme/echo@v1", "input": {"text": task.tag, "_emulator": scenario}}
    elif task.service == "inferable":
        steps = max(1, round(task.duration / 0.2))
        scenario = {
            "outcome": "done" if ok else "failed",
            "steps": steps,
            "tag": task.tag,
            "result": {"n": 1},
        }
        cls = InferableRunOperator
        kwargs = {"initial_prompt": "soak", "context": {"_emulator": scenario}, "failed_grace": 0.2}
    else:
        scenario = {
            "tag": task.tag,
            "duration": task.duration,
            "final_status": "SUCCEEDED" if ok else "FAILED",
        }
        cls = EdgesActionOperator
        inputs = [
            {"linkedin_profile_url": f"https://www.linkedin.com/in/soak-{task.tag}-{i}"} for i in range(2)
        ]
        parameters = {"_emulator": scenario}
        kwargs = {
            "action": "linkedin-extract-people",
            "mode": "async",
            "inputs": inputs,
            "parameters": parameters,
        }
    if crash:
        cls = type(f"Crashing{cls.__name__}", (cls,), {"submit": _crashing_submit})
    return cls(**common, **kwargs)


def _crashing_submit(self: Any, context: Any) -> str:
    run_id = type(self).__mro__[1].submit(self, context)
    raise SimulatedCrash(f"worker died after creating {run_id}")


def _serialize(deferred: TaskDeferred) -> tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]:
    path, kwargs = deferred.trigger.serialize()
    trigger = (path, json.loads(json.dumps(kwargs)))  # what the triggerer stores: JSON primitives
    return trigger, (deferred.method_name, json.loads(json.dumps(deferred.kwargs or {})))


def _finish(task: SoakTask, call: Any) -> None:
    """Run one worker step; record a deferral, an outcome, or a failure to retry."""
    try:
        call()
    except TaskDeferred as deferred:
        task.trigger, task.resume = _serialize(deferred)
        return
    except SimulatedCrash:
        task.trigger, task.crashes = None, task.crashes + 1
        return
    except (RunFailedError, AirflowFailException) as exc:  # the run's outcome: the task fails
        task.outcome, task.error, task.trigger = "failed", f"{type(exc).__name__}: {exc}", None
        return
    except Exception as exc:  # any other failure of this try (ReattachError...): Airflow retries it
        task.error, task.trigger = f"{type(exc).__name__}: {exc}", None
        if task.tries >= MAX_TRIES:
            task.outcome = "error"
        return
    task.outcome, task.trigger = "success", None


def start_try(task: SoakTask) -> None:
    """A new try: ``execute`` on a fresh operator (the first may crash after creating its run)."""
    task.tries += 1
    crash = task.crash_first_try and task.tries == 1
    op = build_operator(task, crash=crash)
    _finish(task, lambda: op.execute(task.context(new_try=True)))


def resume(task: SoakTask) -> None:
    """The worker resumes the task with the trigger's event (``execute_complete``)."""
    assert task.resume is not None and task.event is not None
    method, kwargs = task.resume
    op = build_operator(task, crash=False)
    event, task.event = task.event, None
    _finish(task, lambda: getattr(op, method)(task.context(new_try=False), event=event, **kwargs))


async def _run_triggers(tasks: list[SoakTask], stop_at_share: float | None) -> int:
    """Run the tasks' triggers (rebuilt from their serialized form) in this loop until each has
    yielded its first event, or until ``stop_at_share`` of them have: then cancel the rest, as
    a triggerer that goes away. Returns the number of events."""

    async def one(task: SoakTask) -> None:
        assert task.trigger is not None
        path, kwargs = task.trigger
        trigger = import_string(path)(**kwargs)
        generator = trigger.run()
        try:
            event = await generator.__anext__()
        finally:
            await generator.aclose()
        task.event = event.payload

    jobs = [asyncio.ensure_future(one(t)) for t in tasks]
    pending = set(jobs)
    stop_when_left = len(jobs) - int(len(jobs) * stop_at_share) if stop_at_share is not None else 0
    while len(pending) > stop_when_left:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for job in done:
            if job.exception() is not None:
                for other in pending:
                    other.cancel()
                raise job.exception()  # a trigger must never raise: that is a soak failure
    for job in pending:
        job.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return sum(1 for t in tasks if t.event is not None)


def make_tasks(
    n: int, rng: random.Random, run_id: str, *, crash_share: float, pair_share: float, legacy_share: float
) -> list[SoakTask]:
    """``n`` scripted task instances; about ``pair_share`` of them in identical pairs (map
    indexes 0 and 1 of one task, the same request), ``legacy_share`` on Airflow 3.1's path."""
    xcoms = XComTable()
    tasks: list[SoakTask] = []
    pairs = 0
    while len(tasks) < n:
        i = len(tasks)
        service = SERVICES[i % len(SERVICES)]
        expect = "success" if rng.random() < 0.8 else "failed"
        duration = rng.uniform(2.0, 10.0)
        legacy = rng.random() < legacy_share
        if len(tasks) + 2 <= n and rng.random() < pair_share / 2:
            for map_index in (0, 1):  # one task's two instances: same service, script and input
                tasks.append(
                    SoakTask(
                        index=len(tasks), service=service, expect=expect, duration=duration,
                        crash_first_try=rng.random() < crash_share, run_id=run_id, xcoms=xcoms,
                        pair=pairs, map_index=map_index, legacy=legacy,
                    )
                )  # fmt: skip
            pairs += 1
            continue
        tasks.append(
            SoakTask(
                index=i, service=service, expect=expect, duration=duration,
                crash_first_try=rng.random() < crash_share, run_id=run_id, xcoms=xcoms,
                map_index=i, legacy=legacy,
            )
        )  # fmt: skip
    return tasks


def long_retry_after_rule(share: float) -> dict[str, Any]:
    """429 with ``Retry-After: 600`` on reads of a single run: a retry's reattach read hit by it
    must neither create a second run nor give up the first."""
    return {
        "kind": "status",
        "status": 429,
        "method": "GET",
        "path_regex": r"^/(tasks/[^/]+(/status)?|clusters/[^/]+/runs/[^/]+|runs/[^/]+)$",
        "retry_after": "600",
        "probability": share,
    }


def describe(task: SoakTask) -> str:
    """One task instance in a report line."""
    return f"task {task.index} ({task.service}, {task.tries} tries, crashed first: {task.crash_first_try})"


def allowed_runs(task: SoakTask) -> int:
    """Runs a task may create: one; two when its first try crashed and that run failed.

    A retry reattaches to the run its crashed try created while that run is going or succeeded;
    when the run already failed, the retry starts a new one (that is what a retry is for). Only
    tasks scripted to fail can get there.
    """
    return 2 if task.crash_first_try and task.expect == "failed" else 1


@dataclass
class SoakReport:
    """The figures a soak reports."""

    tasks: int
    by_service: dict[str, int]
    created_per_group: dict[str, int]
    """Runs created per group of identical requests (a task instance, or an identical pair)."""
    duplicates: int
    duplicated: list[str]
    new_runs_after_failure: int
    lost: int
    wrong_outcomes: int
    errors: list[str]
    crashed_first_tries: int
    crashes_after_create: int
    retried_tries: int
    trigger_restarts: int
    events_before_restart: int
    requests_total: int
    requests_per_run: float
    faults_injected: dict[str, int]
    wall_seconds: float
    wrong: list[str] = field(default_factory=list)
    """The task instances behind ``lost`` and ``wrong_outcomes`` (the first 20)."""
    identical_pairs: int = 0
    tasks_on_3_1_path: int = 0
    runs_shared: int = 0
    """Task instances that ended on a run another task instance also ended on (adopted)."""
    requests_at_foreign_host: int = 0
    keys_leaked: int = 0

    def ok(self) -> bool:
        """Exactly one run per task, nothing lost, no wrong outcome, nothing sent elsewhere."""
        return (
            self.duplicates == 0
            and self.lost == 0
            and self.wrong_outcomes == 0
            and not self.errors
            and self.runs_shared == 0
            and self.requests_at_foreign_host == 0
        )


def run_soak(
    base_url: str,
    n: int,
    *,
    seed: int = 7,
    threads: int = 24,
    fault_share: float = 0.20,
    drop_share: float = 0.05,
    latency: float = 2.0,
    crash_share: float = 0.05,
    restart_at_share: float = 0.5,
    hostile_share: float = 0.02,
    pair_share: float = 0.2,
    legacy_share: float = 0.3,
    reattach_429_share: float = 0.05,
) -> SoakReport:
    """Run ``n`` soak tasks against the emulator at ``base_url`` and return the report."""
    with TrapServer() as trap:
        report = _run_soak(
            base_url, n, trap, seed=seed, threads=threads, fault_share=fault_share, drop_share=drop_share,
            latency=latency, crash_share=crash_share, restart_at_share=restart_at_share,
            hostile_share=hostile_share, pair_share=pair_share, legacy_share=legacy_share,
            reattach_429_share=reattach_429_share,
        )  # fmt: skip
    report.requests_at_foreign_host = len(trap.requests)
    report.keys_leaked = trap.leaked_keys(list(DEFAULT_KEYS.values()))
    return report


def _run_soak(
    base_url: str,
    n: int,
    trap: TrapServer,
    *,
    seed: int,
    threads: int,
    fault_share: float,
    drop_share: float,
    latency: float,
    crash_share: float,
    restart_at_share: float,
    hostile_share: float,
    pair_share: float,
    legacy_share: float,
    reattach_429_share: float,
) -> SoakReport:
    started = time.monotonic()
    os.environ.update(connection_env_for(base_url, extras=HOSTILE_CONNECTION_EXTRAS))
    rng = random.Random(seed)
    control = requests.Session()
    control.post(f"{base_url}/_emulator/reset", timeout=30).raise_for_status()
    run_id = f"soak{seed}x{int(time.time())}"
    tasks = make_tasks(
        n, rng, run_id, crash_share=crash_share, pair_share=pair_share, legacy_share=legacy_share
    )
    rules = fault_rules(fault_share, drop_share, latency)
    if hostile_share:
        rules = hostile_rules(trap.url, hostile_share) + rules
    if reattach_429_share:  # reads of a run (the reattach read among them) refused for 600 s
        rules.insert(0, long_retry_after_rule(reattach_429_share))
    control.post(f"{base_url}/_emulator/faults", json=rules, timeout=30).raise_for_status()

    restarts = events_before_restart = 0
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(start_try, tasks))
        while True:
            for _ in range(MAX_TRIES):  # tries that crashed or failed before deferring
                again = [t for t in tasks if t.outcome is None and t.trigger is None and t.event is None]
                if not again:
                    break
                list(pool.map(start_try, again))
            waiting = [t for t in tasks if t.outcome is None and t.trigger is not None and t.event is None]
            if not waiting:
                break
            if restarts == 0:  # stop the loop midway, then rebuild every trigger in a new one
                events_before_restart = asyncio.run(_run_triggers(waiting, stop_at_share=restart_at_share))
                restarts = 1
                waiting = [t for t in waiting if t.event is None]
            asyncio.run(_run_triggers(waiting, stop_at_share=None))
            list(pool.map(resume, [t for t in tasks if t.event is not None]))

    control.delete(f"{base_url}/_emulator/faults", timeout=30)
    created = control.get(f"{base_url}/_emulator/created", timeout=60).json()
    counters = control.get(f"{base_url}/_emulator/counters", timeout=60).json()
    per_tag = Counter(tag for tags in created.values() for tag in tags)
    groups: dict[str, list[SoakTask]] = {}
    for t in tasks:
        groups.setdefault(t.tag, []).append(t)
    created_per_group = {tag: per_tag.get(tag, 0) for tag in groups}
    allowed = {tag: sum(allowed_runs(t) for t in members) for tag, members in groups.items()}
    final_runs = Counter(t.final_run_id() for t in tasks if t.final_run_id())
    return SoakReport(
        tasks=n,
        by_service=dict(Counter(t.service for t in tasks)),
        created_per_group=created_per_group,
        duplicates=sum(max(0, created_per_group[tag] - allowed[tag]) for tag in groups),
        duplicated=[
            f"{tag}: {created_per_group[tag]} runs for " + ", ".join(describe(t) for t in members)
            for tag, members in groups.items()
            if created_per_group[tag] > allowed[tag]
        ],
        new_runs_after_failure=sum(
            max(0, min(created_per_group[tag], allowed[tag]) - len(members))
            for tag, members in groups.items()
        ),
        lost=sum(1 for t in tasks if t.outcome is None)
        + sum(max(0, len(members) - created_per_group[tag]) for tag, members in groups.items()),
        wrong_outcomes=sum(1 for t in tasks if t.outcome is not None and t.outcome != t.expect),
        errors=[f"task {t.index} ({t.service}): {t.error}" for t in tasks if t.outcome == "error"][:20],
        crashed_first_tries=sum(1 for t in tasks if t.crash_first_try),
        crashes_after_create=sum(t.crashes for t in tasks),
        retried_tries=sum(t.tries - 1 for t in tasks),
        trigger_restarts=restarts,
        events_before_restart=events_before_restart,
        requests_total=int(counters["requests_total"]),
        requests_per_run=round(counters["requests_total"] / max(n, 1), 2),
        faults_injected={k: int(v) for k, v in counters["faults_injected"].items()},
        wall_seconds=round(time.monotonic() - started, 1),
        wrong=[
            f"{describe(t)} group {t.tag} ({created_per_group[t.tag]} created, 3.1 path: {t.legacy}): "
            f"expected {t.expect}, got {t.outcome}: {t.error}"
            for t in tasks
            if t.outcome != t.expect or created_per_group[t.tag] < len(groups[t.tag])
        ][:20],
        identical_pairs=sum(1 for members in groups.values() if len(members) == 2),
        tasks_on_3_1_path=sum(1 for t in tasks if t.legacy),
        runs_shared=sum(1 for t in tasks if t.final_run_id() and final_runs[t.final_run_id()] > 1),
    )


def main(argv: list[str] | None = None) -> int:
    """``make soak``: run, print the figures, write them as JSON; exit 1 unless exact."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--json", default=".soak/soak.json")
    args = parser.parse_args(argv)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    for name in ("airflow.task", "airflow_provider_runs"):  # a thousand tasks' info and retry lines
        logging.getLogger(name).setLevel(logging.ERROR)
    proc, url = start_emulator_process(["--seed", "7"], Path(args.json).parent / "emulator.log")
    try:
        report = run_soak(url, args.runs)
    finally:
        stop_emulator_process(proc)
    figures = {k: v for k, v in report.__dict__.items() if k != "created_per_group"}
    figures["created_per_group_histogram"] = dict(Counter(report.created_per_group.values()))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(figures, indent=2))
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
