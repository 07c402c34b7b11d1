"""A real Airflow deployment on loopback for the end-to-end suites.

Starts the emulator, a PostgreSQL server of its own (Debian's packages; SQLite's single writer
made the API server time out with "database is locked" under the scheduler, triggerer and workers)
and the Airflow processes (API server, scheduler, DAG processor, triggerer; LocalExecutor) in a
temporary ``AIRFLOW_HOME``, each in its own process
group, with ``example_dags/`` and ``tests/e2e/dags/`` as two DAG bundles and the provider's
default connections pointing at the emulator. Every process carries ``RUNS_E2E_MARKER`` in its
environment, so ``tests/e2e/leftovers.py`` can prove that nothing is left running.

``tests/e2e_distributed/`` extends :class:`AirflowStack` (Redis, the CeleryExecutor, two Celery
workers, two triggerers) through its hooks: :meth:`~AirflowStack.bundles`,
:meth:`~AirflowStack.extra_environment`, :meth:`~AirflowStack.start_services` and
:meth:`~AirflowStack.start_airflow`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import requests
from rest_api import TERMINAL_RUN_STATES, USERNAME, RestApi, wait_until

from airflow_provider_runs.testing.emulator import connection_env_for

__all__ = ["TERMINAL_RUN_STATES", "USERNAME", "AirflowStack", "Process", "wait_until"]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = ROOT / "example_dags"
SCENARIO_DAGS = Path(__file__).resolve().parent / "dags"
OUTPUT_DIR = Path(os.environ.get("E2E_OUTPUT_DIR", ROOT / ".e2e"))
"""Logs, the Airflow home and the screenshots of the last run."""
MARKER_VARIABLE = "RUNS_E2E_MARKER"
PROCESS_GROUPS_FILE = "process-groups.txt"
"""Every process group the stack started, one per line (``tests/e2e/leftovers.py`` reads it)."""
RUN_SECONDS = 15
"""How long the examples' remote runs last (the emulator's default is 1 s). Airflow 3.3.2's
scheduler fails a task ("state changed externally") when its trigger fires before the scheduler
has processed the executor event of the worker that deferred it: that late event then removes the
resumed workload from the executor. On this 2-core machine the event can lag 6 s; real runs last
far longer than that window, a 1 s emulated run does not."""
AIRFLOW_PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")


def postgres_bin() -> Path:
    """The newest PostgreSQL server binaries Debian installed."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if not versions:
        raise RuntimeError(
            "PostgreSQL is missing: run scripts/install_e2e_deps.sh (apt-get install postgresql)"
        )
    return versions[-1].parent


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """One started process and its log file."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    def alive(self) -> bool:
        """Whether the process has not exited."""
        return self.popen.poll() is None

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the process and every child it started)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL what is left after ``grace`` seconds."""
        if self.alive():
            self.kill_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        self.kill_group(signal.SIGKILL)  # children that outlived their leader
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


@dataclass
class AirflowStack(RestApi):
    """The emulator and a real Airflow, started in ``output_dir`` (logs, screenshots, home).

    :param output_dir: where the Airflow home, the logs and the process-group record go.
    :param run_seconds: how long the emulator's remote runs last unless a task scripts it.
    """

    output_dir: Path
    run_seconds: float = RUN_SECONDS
    marker: str = field(default_factory=lambda: secrets.token_hex(8))
    processes: dict[str, Process] = field(default_factory=dict)
    retired: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.home = self.output_dir / "airflow-home"
        self.logs = self.output_dir / "logs"
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.password = secrets.token_urlsafe(12)
        self.passwords_file = self.home / "passwords.json"
        self.passwords_file.write_text(json.dumps({USERNAME: self.password}))
        self.secret_key = secrets.token_hex(16)
        self.jwt_secret = secrets.token_hex(32)
        self.log_ports = (free_port(), free_port())
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.emulator_url = ""
        self.pg_port = free_port()
        self.pg_dir = Path(tempfile.mkdtemp(prefix="runs-e2e-pg-"))
        self._token: str | None = None
        self.session = requests.Session()

    # ------------------------------------------------------------------ environment
    def bundles(self) -> list[tuple[str, Path]]:
        """The DAG bundles, as (name, folder)."""
        return [("provider_examples", EXAMPLE_DAGS), ("e2e_scenarios", SCENARIO_DAGS)]

    def extra_environment(self) -> dict[str, str]:
        """Variables a subclass adds to (or overrides in) every process's environment."""
        return {}

    def environment(self) -> dict[str, str]:
        """The environment every Airflow process runs with."""
        bundles = [
            {
                "name": name,
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(path), "refresh_interval": 5},
            }
            for name, path in self.bundles()
        ]
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "PYTEST_"))
        }
        env.update(
            {
                MARKER_VARIABLE: self.marker,
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
                    f"postgresql+psycopg2://airflow@127.0.0.1:{self.pg_port}/airflow"
                ),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.bundles()[0][1]),
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # unpaused when triggered
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "6",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.api_url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__SECRET_KEY": self.secret_key,
                "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs / "tasks"),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_ports[0]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_ports[1]),
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # only the suite's runs, no cron runs
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
                "AIRFLOW__RUNS__DEFAULT_POLL_INTERVAL": "1",
                "EDGES_EXAMPLE_DIR": str(self.output_dir / "edges-example"),
                "PYTHONUNBUFFERED": "1",
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        if self.emulator_url:
            env.update(connection_env_for(self.emulator_url))
        env.update(self.extra_environment())
        return env

    # ------------------------------------------------------------------ processes
    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        """Start ``argv`` in a new process group with its output in ``logs/<name>.log``.

        :param env: variables added to :meth:`environment` for this process only.
        """
        suffix = sum(1 for p in [*self.processes.values(), *self.retired] if p.name == name)
        log_path = self.logs / (f"{name}.log" if not suffix else f"{name}.{suffix}.log")
        handle = log_path.open("w")
        popen = subprocess.Popen(
            argv,
            env={**self.environment(), **(env or {})},
            cwd=self.output_dir,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        handle.close()
        with (self.output_dir / PROCESS_GROUPS_FILE).open("a") as groups:
            groups.write(f"{popen.pid}\n")  # its own group: start_new_session
        process = Process(name, popen, log_path)
        self.processes[name] = process
        return process

    def airflow(self, command: str, *args: str, name: str = "", env: dict[str, str] | None = None) -> Process:
        """Start ``airflow <command> <args>`` (named ``name``, by default the command)."""
        argv = [sys.executable, "-m", "airflow", *command.split(), *args]
        return self.spawn(name or command.replace(" ", "-"), argv, env)

    def run_setup(self, name: str, argv: list[str], timeout: float, **kwargs: Any) -> None:
        """Run a set-up command to its end, its output in ``logs/<name>.log``; raise if it fails."""
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
        (self.logs / f"{name}.log").write_text(done.stdout + done.stderr)
        if done.returncode:
            raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")

    def as_postgres_user(self, argv: list[str]) -> list[str]:
        """``argv`` run as the ``postgres`` user when we are root (PostgreSQL refuses root)."""
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def start_postgres(self) -> None:
        """A throw-away PostgreSQL cluster on a free port with an ``airflow`` database."""
        binaries = postgres_bin()
        data = self.pg_dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.pg_dir, "postgres")
        self.run_setup(
            "initdb",
            self.as_postgres_user(
                [str(binaries / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8"]
            ),
            timeout=120,
        )
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.pg_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "max_connections": "300",
        }
        options = [item for key, value in settings.items() for item in ("-c", f"{key}={value}")]
        self.spawn(
            "postgres",
            self.as_postgres_user(
                [str(binaries / "postgres"), "-D", str(data), "-p", str(self.pg_port), *options]
            ),
        )

        def accepting() -> bool:
            self.check_alive()
            try:
                connection = self.db("postgres")
            except psycopg2.OperationalError:
                return False
            connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
            try:
                connection.cursor().execute("CREATE DATABASE airflow")
            finally:
                connection.close()
            return True

        wait_until(accepting, 60, "PostgreSQL start-up")

    def db(self, dbname: str = "airflow") -> Any:
        """A new connection to the stack's PostgreSQL (Airflow's metadata database by default)."""
        return psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="airflow", dbname=dbname)

    def start_services(self) -> None:
        """Start what Airflow needs besides PostgreSQL (nothing here; a broker in a subclass)."""

    def start_emulator(self) -> None:
        """Start the emulator on a free port and wait for its announced URL."""
        emulator = self.spawn(
            "emulator",
            [
                sys.executable,
                "-m",
                "airflow_provider_runs.testing.emulator",
                "--port",
                "0",
                "--task-duration",
                str(self.run_seconds),
                "--inferable-step-seconds",
                str(self.run_seconds / 4),
            ],
        )
        self.emulator_url = wait_until(lambda: _announced_url(emulator), 60, "emulator start-up")

    def start_airflow(self) -> None:
        """Start the Airflow processes (API server, scheduler, DAG processor, triggerer)."""
        for command in AIRFLOW_PROCESSES:
            self.airflow(command)

    def start(self) -> None:
        """Start everything and wait until the API answers."""
        self.start_postgres()
        self.start_services()
        self.start_emulator()
        self.run_setup(
            "db-migrate",
            [sys.executable, "-m", "airflow", "db", "migrate"],
            timeout=300,
            env=self.environment(),
            cwd=self.output_dir,
        )
        self.start_airflow()
        wait_until(self._api_ready, 180, "Airflow API server start-up", interval=1)

    def retire(self, name: str) -> Process:
        """SIGKILL the process group of ``name`` (if it still runs) and keep it among the retired."""
        old = self.processes.pop(name)
        old.kill_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            old.popen.wait(10)
        self.retired.append(old)
        return old

    def restart_triggerer(self) -> tuple[float, float]:
        """SIGKILL the triggerer's process group and start a new one; return (killed, started)."""
        self.retire("triggerer")
        killed = time.time()
        self.airflow("triggerer")
        return killed, time.time()

    def stop(self) -> None:
        """Stop every process this stack started, newest first (Airflow, then the emulator, the
        services, PostgreSQL last)."""
        for process in reversed(list(self.processes.values())):
            process.stop()
        for process in self.retired:
            process.stop(grace=1)
        shutil.rmtree(self.pg_dir, ignore_errors=True)

    def check_alive(self) -> None:
        """Fail with the log tail of any process that died unexpectedly."""
        for process in self.processes.values():
            if not process.alive():
                tail = process.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{tail}")


def _announced_url(process: Process) -> str | None:
    """The emulator's base URL once its log says it is listening."""
    if not process.alive():
        raise RuntimeError(f"emulator exited: {process.log_path.read_text()[-2000:]}")
    for line in process.log_path.read_text(errors="replace").splitlines():
        if "listening on" in line:
            return line.strip().rsplit(" ", 1)[-1]
    return None
