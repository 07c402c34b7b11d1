"""The REST API side of the end-to-end stack: log in, trigger DAGs, read runs, tasks and XComs.

A mixin of ``stack.AirflowStack``: it needs ``api_url``, ``session``, ``password``, ``emulator_url``
and ``check_alive()`` from the stack.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import requests

USERNAME = "admin"
TERMINAL_RUN_STATES = {"success", "failed"}


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    """Poll ``predicate`` until it returns a truthy value; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (requests.RequestException, KeyError, ValueError) as exc:
            last_error, value = exc, None
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s (last error: {last_error})")


class RestApi:
    """Calls to Airflow's REST API (``/api/v2``) and to the emulator, with the waits built on them."""

    api_url: str
    emulator_url: str
    password: str
    session: requests.Session
    _token: str | None

    def check_alive(self) -> None:
        """Fail when a process of the stack died (the stack implements it)."""
        raise NotImplementedError

    def _api_ready(self) -> bool:
        self.check_alive()
        return self.session.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).status_code == 200

    def token(self) -> str:
        """A JWT for the REST API, from the simple auth manager's login endpoint."""
        if self._token is None:
            response = self.session.post(
                f"{self.api_url}/auth/token",
                json={"username": USERNAME, "password": self.password},
                timeout=30,
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``/api/v2<path>`` and return the JSON body (raises on 4xx/5xx)."""
        response = self.session.request(
            method,
            f"{self.api_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
            **kwargs,
        )
        if response.status_code >= 400:
            raise requests.HTTPError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def emulator(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the emulator (``/_emulator/...`` control API or a service path)."""
        response = self.session.request(method, f"{self.emulator_url}{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 240) -> None:
        """Wait until the DAG processor has parsed ``dag_id``."""

        def parsed() -> bool:
            self.check_alive()
            try:
                self.api("GET", f"/dags/{dag_id}")
            except requests.HTTPError as exc:
                if " 404 " in str(exc):
                    return False
                raise
            return True

        wait_until(parsed, timeout, f"parsing of {dag_id}", interval=2)

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Trigger a DAG run through the REST API; return its run id."""
        self.wait_for_dag(dag_id)
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        # A logical date, as a scheduled run has: the examples template {{ ds }}.
        body = {"logical_date": datetime.now(timezone.utc).isoformat(), "conf": conf or {}}
        return str(self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The DAG run document."""
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> dict[str, Any]:
        """Wait (through the API) until the DAG run ends; return its document."""

        def ended() -> dict[str, Any] | None:
            self.check_alive()
            run = self.dag_run(dag_id, run_id)
            return run if run["state"] in TERMINAL_RUN_STATES else None

        return wait_until(ended, timeout, f"end of {dag_id}/{run_id}", interval=2)

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        """Task instances by ``task_id`` (``task_id[i]`` for mapped ones)."""
        found: dict[str, dict[str, Any]] = {}
        while True:  # pages of 100 (the distributed suite maps 300 tasks)
            params = {"limit": 100, "offset": len(found)}
            rows = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params=params)
            for ti in rows["task_instances"]:
                found[ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"] = ti
            if not rows["task_instances"] or len(found) >= rows["total_entries"]:
                return found

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """``{task: state}`` for a DAG run."""
        return {name: ti["state"] for name, ti in self.task_instances(dag_id, run_id).items()}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1):
        """A task's XCom value, deserialized by the API."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.api("GET", path, params={"map_index": map_index, "deserialize": True})["value"]

    def wait_for_task_state(self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout=180):
        """Wait until a task instance is in one of ``states``; return its document."""

        def reached() -> dict[str, Any] | None:
            self.check_alive()
            ti = self.task_instances(dag_id, run_id).get(task_id)
            return ti if ti is not None and ti["state"] in states else None

        return wait_until(reached, timeout, f"{dag_id}/{task_id} in {sorted(states)}", interval=1)

    def counters(self) -> dict[str, Any]:
        """The emulator's counters (runs created, cancels, requests per service)."""
        return self.emulator("GET", "/_emulator/counters")
