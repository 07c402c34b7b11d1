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
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred  # noqa: E402

from airflow_provider_runs.testing.emulator import connection_env_for  # noqa: E402
from airflow_provider_runs.testing.emulator.server import (  # noqa: E402
    start_emulator_process,
    stop_emulator_process,
)

from support import FakeStateStore, FakeTI  # noqa: E402

SERVICES = ("inference_sh", "inferable", "edges")
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
    """One task instance of the soak: its script, its tries and what became of it."""

    index: int
    service: str
    expect: str  # "success" | "failed"
    crash_first_try: bool
    duration: float
    run_id: str
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
        return f"{self.run_id}-{self.index}"

    def context(self) -> dict[str, Any]:
        ti = FakeTI(
            self.tries, map_index=self.index, dag_id="soak", run_id=self.run_id, task_id=f"task_{self.index}"
        )
        return {"ti": ti, "task_state_store": self.store}


def build_operator(task: SoakTask, crash: bool) -> Any:
    """A fresh operator object (as each Airflow try or resume builds one)."""
    from airflow_provider_runs.operators.edges import EdgesActionOperator
    from airflow_provider_runs.operators.inferable import InferableRunOperator
    from airflow_provider_runs.operators.inference_sh import InferenceShTaskOperator

    ok = task.expect == "success"
    common = {"task_id": f"task_{task.index}", "deferrable": True, "poll_interval": 1.0, "timeout": 900}
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
        kwargs = {"initial_prompt": "soak", "context": {"_emulator": scenario}}
    else:
        scenario = {
            "tag": task.tag,
            "duration": task.duration,
            "final_status": "SUCCEEDED" if ok else "FAILED",
        }
        cls = EdgesActionOperator
        inputs = [
            {"linkedin_profile_url": f"https://www.linkedin.com/in/soak-{task.index}-{i}"} for i in range(2)
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
    except AirflowException as exc:  # the run's failure turned into task failure
        task.outcome, task.error, task.trigger = "failed", f"{type(exc).__name__}: {exc}", None
        return
    except Exception as exc:  # an infrastructure failure of this try: Airflow retries it
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
    _finish(task, lambda: op.execute(task.context()))


def resume(task: SoakTask) -> None:
    """The worker resumes the task with the trigger's event (``execute_complete``)."""
    assert task.resume is not None and task.event is not None
    method, kwargs = task.resume
    op = build_operator(task, crash=False)
    event, task.event = task.event, None
    _finish(task, lambda: getattr(op, method)(task.context(), event=event, **kwargs))


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
    created_per_task: dict[int, int]
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

    def ok(self) -> bool:
        """Exactly one run per task, nothing lost, no wrong outcome."""
        return self.duplicates == 0 and self.lost == 0 and self.wrong_outcomes == 0 and not self.errors


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
) -> SoakReport:
    """Run ``n`` soak tasks against the emulator at ``base_url`` and return the report."""
    started = time.monotonic()
    os.environ.update(connection_env_for(base_url))
    rng = random.Random(seed)
    control = requests.Session()
    control.post(f"{base_url}/_emulator/reset", timeout=30).raise_for_status()
    run_id = f"soak{seed}x{int(time.time())}"
    tasks = [
        SoakTask(
            index=i,
            service=SERVICES[i % len(SERVICES)],
            expect="success" if rng.random() < 0.8 else "failed",
            crash_first_try=rng.random() < crash_share,
            duration=rng.uniform(2.0, 10.0),
            run_id=run_id,
        )
        for i in range(n)
    ]
    rules = fault_rules(fault_share, drop_share, latency)
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
    created_per_task = {t.index: per_tag.get(t.tag, 0) for t in tasks}
    return SoakReport(
        tasks=n,
        by_service=dict(Counter(t.service for t in tasks)),
        created_per_task=created_per_task,
        duplicates=sum(max(0, created_per_task[t.index] - allowed_runs(t)) for t in tasks),
        duplicated=[
            f"task {t.index} ({t.service}, {t.tries} tries, crashed first: {t.crash_first_try})"
            for t in tasks
            if created_per_task[t.index] > allowed_runs(t)
        ],
        new_runs_after_failure=sum(1 for t in tasks if created_per_task[t.index] == 2 == allowed_runs(t)),
        lost=sum(1 for t in tasks if t.outcome is None or created_per_task[t.index] == 0),
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
    figures = {k: v for k, v in report.__dict__.items() if k != "created_per_task"}
    figures["created_per_task_histogram"] = dict(Counter(report.created_per_task.values()))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(figures, indent=2))
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
