"""Run the emulator in a background thread, and a small client for its control API."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
import uvicorn

from airflow_provider_runs.testing.emulator.app import ExtraRouter, create_app
from airflow_provider_runs.testing.emulator.config import EmulatorConfig
from airflow_provider_runs.testing.emulator.connections import connection_env_for
from airflow_provider_runs.testing.emulator.service import emulated


class ControlClient:
    """Calls ``/_emulator/...`` of a running emulator.

    :param base_url: the emulator's root URL.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.session.request(method, f"{self.base_url}/_emulator{path}", json=body, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def reset(self) -> None:
        """Drop every task, session, fault and counter."""
        self._call("POST", "/reset")

    def counters(self) -> dict[str, Any]:
        """The counters document."""
        return self._call("GET", "/counters")

    def add_faults(self, rules: list[dict[str, Any]]) -> None:
        """Add fault rules."""
        self._call("POST", "/faults", rules)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", "/faults")

    def set_limits(self, limits: dict[str, Any]) -> dict[str, Any]:
        """Change the rate limits, ``{service: {"tier": name} or {bucket: limit}}`` (see
        :mod:`.ratelimit`)."""
        return self._call("POST", "/limits", limits)

    def advance(self, seconds: float) -> None:
        """Move the emulator clock forward."""
        self._call("POST", "/clock/advance", {"seconds": seconds})

    def set_scenario(
        self,
        scenario: dict[str, Any],
        *,
        app: str | None = None,
        count: int | None = None,
        service: str | None = None,
    ) -> None:
        """Give the next ``count`` runs (of ``app``) of ``service`` (default: the first emulated
        one, inference.sh) this scenario."""
        body = {"app": app, "count": count, "scenario": scenario} | ({"service": service} if service else {})
        self._call("POST", "/scenarios", body)

    def tasks(self) -> list[dict[str, Any]]:
        """Every inference.sh task, as the emulator sees it (``GET /_emulator/tasks``)."""
        return self._call("GET", "/tasks")

    def webhooks(self) -> dict[str, Any]:
        """Webhook deliveries and what the sink received."""
        return self._call("GET", "/webhooks")


class EmulatorServer:
    """The emulator on 127.0.0.1 in a daemon thread.

    :param config: emulator settings.
    :param port: the port; 0 picks a free one.
    :param extra_routers: more routes (see :func:`.create_app`).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        port: int = 0,
        extra_routers: Sequence[ExtraRouter | str] = (),
    ) -> None:
        self.config = config or EmulatorConfig()
        self.app = create_app(self.config, extra_routers)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.control = ControlClient(self.url)
        self._server = uvicorn.Server(
            uvicorn.Config(self.app, log_level="critical", access_log=False, timeout_keep_alive=30)
        )
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        """Start serving and wait until ready."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.time() + 30
        while not self._server.started:
            if time.time() > deadline or not self._thread.is_alive():
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._sock.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def service_url(self, service: str) -> str:
        """The base URL a connection of ``service`` uses (its host)."""
        return self.url + emulated(service).api_root

    def connection_env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_*_DEFAULT`` variables pointing at this emulator, each with the first
        key the emulator accepts for its service."""
        services = self.app.state.emulator.services
        return connection_env_for(self.url, {s.name: s.api_keys(self.config)[0] for s in services})


def start_emulator_process(
    args: Sequence[str] = (), log_path: Path | None = None, timeout: float = 60.0
) -> tuple[subprocess.Popen, str]:
    """The emulator in a process (and process group) of its own; return it and its base URL.

    Its output goes to ``log_path`` (a temporary file by default): a pipe nobody reads fills up
    and blocks the emulator once it logs enough (dropped-connection faults log a traceback each).
    """
    log_path = log_path or Path(tempfile.mkdtemp(prefix="runs-emulator-")) / "emulator.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_runs.testing.emulator", "--port", "0", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for line in log_path.read_text(errors="replace").splitlines():
            if "listening on" in line:
                return proc, line.strip().rsplit(" ", 1)[-1]
        time.sleep(0.1)
    stop_emulator_process(proc)
    raise RuntimeError(f"the emulator did not start: {log_path.read_text(errors='replace')[-2000:]}")


def stop_emulator_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop the emulator's process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
