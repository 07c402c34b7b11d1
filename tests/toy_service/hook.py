"""The toy service's hook: each API call written once, run by the sync and async drivers."""

from __future__ import annotations

from functools import partial
from typing import Any

from airflow_provider_runs.core.calls import Call, api_call
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.core.states import RunStatus
from airflow_provider_runs.hooks.base import RunsHook, json_object, path_segment
from toy_service.descriptor import TOY
from toy_service.states import interpret_job

_job = partial(json_object, service="toy_jobs", label="Toy Jobs")
_jid = partial(path_segment, what="job_id")


class ToyJobsHook(RunsHook):
    """Hook of the toy jobs API (``Authorization: Token <key>``).

    :param toy_jobs_conn_id: the connection id (default ``toy_jobs_default``).
    """

    descriptor = TOY
    supports_cancel = True

    def __init__(self, toy_jobs_conn_id: str = TOY.default_conn_id, **kwargs: Any) -> None:
        super().__init__(toy_jobs_conn_id, **kwargs)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        """The toy API's token header."""
        return {"Authorization": f"Token {api_key}"}

    def default_run_url(self, base_url: str, run_id: str) -> str:
        """The job's API URL."""
        return f"{base_url}/jobs/{_jid(run_id)}"

    @api_call
    def submit_job(self, payload: dict[str, Any], ref: str) -> Call[dict[str, Any]]:
        """Create a job; ``ref`` makes the create idempotent (the same ref returns the same job)."""
        queue = self.settings.extras.get("queue") or "default"
        body = {"payload": payload, "ref": ref, "queue": queue}
        response = yield ApiRequest("POST", "/jobs", json_body=body, idempotent=True)
        return _job(json_object(response.body, service="toy_jobs", label="Toy Jobs").get("job"))

    asubmit_job = submit_job.aio

    @api_call
    def get_job(self, job_id: str) -> Call[dict[str, Any]]:
        """Read a job."""
        response = yield ApiRequest("GET", f"/jobs/{_jid(job_id)}")
        return _job(json_object(response.body, service="toy_jobs", label="Toy Jobs").get("job"))

    aget_job = get_job.aio

    @api_call
    def get_status(self, run_id: str) -> Call[RunStatus]:
        """The job's status through the state table."""
        job = yield from self.get_job.steps(run_id)
        return interpret_job(job)

    aget_status = get_status.aio

    @api_call
    def cancel_run(self, run_id: str) -> Call[None]:
        """Halt the job (halting a finished job is a no-op at the service)."""
        yield ApiRequest("POST", f"/jobs/{_jid(run_id)}/halt", idempotent=True)

    acancel_run = cancel_run.aio

    def check_connection(self) -> None:
        """Read a job that cannot exist: a 404 proves the key works."""
        from airflow_provider_runs.core.errors import NotFoundError

        try:
            self.get_job("connection-check")
        except NotFoundError:
            return
