"""The end-to-end stack of ``tests/e2e/stack.py`` as teams beyond one machine run Airflow.

:class:`DistributedStack` extends :class:`stack.AirflowStack` with Redis (Debian's
``redis-server``, a throw-away instance on a free port) as the Celery broker, the CeleryExecutor
(results in the stack's PostgreSQL), two Celery workers and two triggerers, each with a triggerer
capacity (``TRIGGERER_CAPACITY``) lower than the 300 triggers of the fan-out scenario, so that
both triggerers hold triggers. Its only DAG bundle is ``tests/e2e_distributed/dags/``.

Trigger queues are on (``[triggerer] queues_enabled``): both triggerers serve the default queue,
and each its own pinned queue (``PINNED_QUEUES``, which both workers also serve), so a scenario can
put a task's trigger on a chosen triggerer.

Triggerers are started one after the other, each waiting for its ``TriggererJob`` row, so the
stack knows which job id is which process (``triggerer_jobs``): the trigger split is read from
Airflow's metadata database (``trigger.triggerer_id``) and reported by process name.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from distributed_scenarios import BUDGET_CONN_ID, BUDGET_RPM, PINNED_QUEUES
from stack import ROOT, AirflowStack, Process, free_port, wait_until

from airflow_provider_runs.testing.emulator import connection_env_for

OUTPUT_DIR = Path(os.environ.get("E2E_DISTRIBUTED_OUTPUT_DIR", ROOT / ".e2e-distributed"))
"""Logs, the Airflow home and ``results.json`` of the last run."""
HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"
TRIGGERERS = ("triggerer-1", "triggerer-2")
WORKERS = ("celery-worker-1", "celery-worker-2")
TRIGGERER_CAPACITY = 100
"""Triggers one triggerer holds at most: below the fan-out's peak (about 150 wait at once here), so
both must hold some."""
DEFAULT_QUEUE = "default"
"""``[operators] default_queue``: every scenario's tasks but the mark-failed one's, served by both
triggerers and both workers."""
MAX_TRIGGERS_PER_LOOP = 20
"""``[triggerer] max_trigger_to_select_per_loop``: claims in small bites, the HA setting."""
WORKER_CONCURRENCY = 8
HEARTBEAT_TIMEOUT = 30
"""``[scheduler] task_instance_heartbeat_timeout``: how soon a task whose worker died is failed
(and retried)."""


class DistributedStack(AirflowStack):
    """PostgreSQL, Redis, the emulator, API server, scheduler, DAG processor, two triggerers and
    two Celery workers (CeleryExecutor).

    :param output_dir: where the Airflow home, the logs and the process-group record go.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.redis_port = free_port()
        self.redis_dir = Path(tempfile.mkdtemp(prefix="runs-e2e-redis-"))
        self.triggerer_jobs: dict[str, int] = {}
        """Process name -> its ``TriggererJob`` id (restarted triggerers get a new name)."""
        self.may_exit: set[str] = set()
        """Processes a scenario is about to kill: ``check_alive`` does not fail on them."""
        self._ports: dict[str, tuple[int, int]] = {}

    # ------------------------------------------------------------------ configuration
    def bundles(self) -> list[tuple[str, Path]]:
        """Only the distributed scenarios."""
        return [("e2e_distributed", DAGS)]

    def extra_environment(self) -> dict[str, str]:
        """CeleryExecutor on Redis, triggerer capacity, a shorter heartbeat timeout, the budget
        connection."""
        env = {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(2 * len(WORKERS) * WORKER_CONCURRENCY),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "400",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": (
                f"db+postgresql+psycopg2://airflow@127.0.0.1:{self.pg_port}/airflow"
            ),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "celery_preload.CELERY_CONFIG",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH", "")])),
            "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            "AIRFLOW__TRIGGERER__CAPACITY": str(TRIGGERER_CAPACITY),
            "AIRFLOW__TRIGGERER__MAX_TRIGGER_TO_SELECT_PER_LOOP": str(MAX_TRIGGERS_PER_LOOP),
            "AIRFLOW__TRIGGERER__QUEUES_ENABLED": "True",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        }
        if self.emulator_url:
            edges = json.loads(connection_env_for(self.emulator_url)["AIRFLOW_CONN_EDGES_DEFAULT"])
            edges["extra"] = {**edges.get("extra", {}), "requests_per_minute": BUDGET_RPM}
            env[f"AIRFLOW_CONN_{BUDGET_CONN_ID.upper()}"] = json.dumps(edges)
        return env

    def own_log_ports(self, name: str) -> dict[str, str]:
        """Worker and trigger log-server ports of its own for ``name`` (several run on one host)."""
        worker, trigger = self._ports.setdefault(name, (free_port(), free_port()))
        return {
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(worker),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger),
        }

    # ------------------------------------------------------------------ processes
    def start_services(self) -> None:
        """A Redis of the stack's own: no persistence, loopback only."""
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RuntimeError("redis-server is missing: run scripts/install_e2e_deps.sh")
        self.spawn(
            "redis",
            [
                binary,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.redis_dir),
            ],
        )
        client = redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=2)

        def answering() -> bool:
            self.check_alive()
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answering, 30, "Redis start-up")

    def start_airflow(self) -> None:
        """API server, scheduler, DAG processor, then the triggerers one by one, then the workers."""
        for command in ("api-server", "scheduler", "dag-processor"):
            self.airflow(command)
        for name in TRIGGERERS:
            self.start_triggerer(name)
        for name in WORKERS:
            self.start_worker(name)

    def start_triggerer(self, name: str) -> Process:
        """Start a triggerer named ``name`` and wait for its ``TriggererJob`` row (its id).

        It serves the default trigger queue and its own pinned one (``PINNED_QUEUES``; a restarted
        triggerer takes over its predecessor's)."""
        known = set(self.triggerer_jobs.values())
        queues = f"{DEFAULT_QUEUE},{PINNED_QUEUES[name.removesuffix('-restarted')]}"
        process = self.airflow("triggerer", "--queues", queues, name=name, env=self.own_log_ports(name))

        def new_job() -> int | None:
            self.check_alive()
            jobs = self.query(
                "SELECT id FROM job WHERE job_type = 'TriggererJob' AND state = 'running' ORDER BY id"
            )
            fresh = [row[0] for row in jobs if row[0] not in known]
            return fresh[-1] if fresh else None

        self.triggerer_jobs[name] = wait_until(new_job, 180, f"{name}'s job row", interval=1)
        return process

    def start_worker(self, name: str) -> Process:
        """Start a Celery worker named ``name`` (its Celery hostname too)."""
        return self.airflow(
            "celery worker",
            "--concurrency",
            str(WORKER_CONCURRENCY),
            "--celery-hostname",
            f"{name}@%h",
            "--queues",
            ",".join([DEFAULT_QUEUE, *PINNED_QUEUES.values()]),
            name=name,
            env=self.own_log_ports(name),
        )

    def wait_for_workers(self, timeout: float = 180) -> None:
        """Wait until each Celery worker logs that it is ready."""

        def ready() -> bool:
            self.check_alive()
            logs = [self.processes[name].log_path.read_text(errors="replace") for name in WORKERS]
            return all("ready." in log for log in logs)

        wait_until(ready, timeout, "Celery workers ready", interval=1)

    def check_alive(self) -> None:
        """Fail with the log tail of any process that died, except those in ``may_exit``."""
        for process in self.processes.values():
            if process.name not in self.may_exit and not process.alive():
                tail = process.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{tail}")

    def stop(self) -> None:
        """Stop every process (newest first), then remove Redis's folder."""
        try:
            super().stop()
        finally:
            shutil.rmtree(self.redis_dir, ignore_errors=True)

    # ------------------------------------------------------------------ metadata database
    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on Airflow's metadata database."""
        connection = self.db()
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def trigger_split(self, dag_id: str, run_id: str) -> dict[str, int]:
        """``{triggerer name: triggers it holds}`` for the run's deferred tasks right now
        (``unassigned``: triggers no live triggerer holds yet)."""
        rows = self.query(
            "SELECT t.triggerer_id, count(*) FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id"
            " WHERE ti.dag_id = %s AND ti.run_id = %s AND ti.state = 'deferred' GROUP BY t.triggerer_id",
            (dag_id, run_id),
        )
        names = {job: name for name, job in self.triggerer_jobs.items()}
        split: dict[str, int] = {}
        for job, count in rows:
            key = "unassigned" if job is None else names.get(job, f"job {job}")
            split[key] = split.get(key, 0) + int(count)
        return split

    def holders(self, dag_id: str, run_id: str) -> dict[str, str]:
        """``{task (task_id[i]): triggerer name}`` for the run's tasks whose trigger is held."""
        rows = self.query(
            "SELECT ti.task_id, ti.map_index, t.triggerer_id FROM task_instance ti"
            " JOIN trigger t ON t.id = ti.trigger_id"
            " WHERE ti.dag_id = %s AND ti.run_id = %s AND t.triggerer_id IS NOT NULL",
            (dag_id, run_id),
        )
        names = {job: name for name, job in self.triggerer_jobs.items()}
        return {
            (task if index < 0 else f"{task}[{index}]"): names.get(job, f"job {job}")
            for task, index, job in rows
        }

    def kill(self, name: str) -> float:
        """SIGKILL ``name``'s whole process group; return when (epoch seconds)."""
        self.retire(name)
        return time.time()
