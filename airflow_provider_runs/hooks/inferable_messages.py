"""Inferable calls around a run that already exists: messages and approvals (``specs/inferable.md``
§2.4, §2.5, §2.9, §4).

:class:`InferableMessagesMixin` is part of :class:`~airflow_provider_runs.hooks.inferable.InferableHook`;
each call is written once (:mod:`~airflow_provider_runs.core.calls`) and has an async twin.
:func:`new_message_id` makes the client message id a retry sends again (spec §2.5: a ULID).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from airflow_provider_runs.core.calls import Call, api_call
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.hooks.base import path_segment
from airflow_provider_runs.hooks.inferable_states import approval_job_ids, approval_of

MESSAGE_ID_LENGTH = 26
"""Inferable's client message ids are ULIDs: exactly 26 alphanumerics (spec §2.5)."""
MESSAGES_PAGE = 50
"""The largest ``limit`` of ``GET .../messages`` (spec §2.4)."""
MESSAGE_TYPES = ("human", "supervisor")
"""The ``type`` values ``POST .../messages`` takes (spec §2.5)."""
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_message_id(now: float | None = None, randomness: bytes | None = None) -> str:
    """A ULID: 10 characters of milliseconds since the epoch, 16 of randomness (Crockford base32).

    The time comes first because Inferable's message ids are ULIDs and a conversation is read in
    id order (newest first); a hash-like id could sort a new message among old ones.

    :param now: the UNIX time (default: now).
    :param randomness: 10 bytes (default: ``os.urandom``).
    """
    millis = int((time.time() if now is None else now) * 1000)
    value = (millis << 80) | int.from_bytes(randomness or os.urandom(10), "big")
    chars = []
    for _ in range(MESSAGE_ID_LENGTH):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def approval_record(job: Mapping[str, Any]) -> dict[str, Any]:
    """An approval as the operators report it: ``{"job_id", "tool", "approved", "status",
    "input"}`` (``approved``: ``None`` while it waits for an answer)."""
    approval = approval_of(job)
    return {
        "job_id": approval["id"],
        "tool": approval["targetFn"],
        "approved": job.get("approved"),
        "status": job.get("status"),
        "input": approval["input"],
    }


class InferableMessagesMixin:
    """Messages and approvals of an existing run (mixed into the Inferable hook)."""

    def _path(self, path: str) -> str:  # pragma: no cover - the hook's
        raise NotImplementedError

    @api_call
    def add_message(
        self, run_id: str, message: str, *, message_id: str | None = None, type: str = "human"
    ) -> Call[None]:
        """Add a message to a run (``POST /clusters/{c}/runs/{r}/messages``, 201): the run is
        re-queued. Not retried blindly (the spec does not say what a repeated ``id`` does): after
        an ambiguous failure look the message up (:meth:`find_message`) before sending it again.

        :param run_id: the run.
        :param message: the text.
        :param message_id: the client's id for the message (a ULID, :func:`new_message_id`).
        :param type: ``human`` (default) or ``supervisor``.
        """
        body: dict[str, Any] = {"message": message, "type": type}
        if message_id is not None:
            body["id"] = message_id
        path = self._path(f"/runs/{path_segment(run_id, 'run_id')}/messages")
        yield ApiRequest("POST", path, json_body=body, idempotent=False)

    aadd_message = add_message.aio

    @api_call
    def newest_messages(self, run_id: str, *, after: str | None = None) -> Call[list[dict[str, Any]]]:
        """The run's newest messages (at most :data:`MESSAGES_PAGE`), newest first; ``after``:
        only those after that message id. An unknown run has none (spec §2.4).

        :param run_id: the run.
        :param after: a message id (exclusive).
        """
        params = {"after": after, "limit": MESSAGES_PAGE}
        path = self._path(f"/runs/{path_segment(run_id, 'run_id')}/messages")
        body = (yield ApiRequest("GET", path, params=params)).body
        return [m for m in body if isinstance(m, dict)] if isinstance(body, list) else []

    anewest_messages = newest_messages.aio

    @api_call
    def find_message(self, run_id: str, message_id: str) -> Call[dict[str, Any] | None]:
        """The message with this id among the run's newest :data:`MESSAGES_PAGE`, or ``None``.

        A message older than the newest 50 cannot be listed (no paging backwards, spec §2.4); a
        run holds at most 100 messages, and a message sent by a task is among its newest unless
        the conversation went on for 50 messages since (then it certainly arrived).

        :param run_id: the run.
        :param message_id: the message's id.
        """
        messages = yield from self.newest_messages.steps(run_id)
        return next((m for m in messages if m.get("id") == message_id), None)

    afind_message = find_message.aio

    @api_call
    def get_job(self, job_id: str) -> Call[dict[str, Any]]:
        """Read a job (``GET /clusters/{c}/jobs/{j}``); an unknown id raises ``NotFoundError``.

        :param job_id: the job.
        """
        body = (yield ApiRequest("GET", self._path(f"/jobs/{path_segment(job_id, 'job_id')}"))).body
        return body if isinstance(body, dict) else {}

    aget_job = get_job.aio

    @api_call
    def run_approvals(self, run_id: str) -> Call[list[dict[str, Any]]]:
        """Every approval requested in the run (:func:`approval_record` each, oldest first), from
        its ``approvalRequested`` events (the newest 100) and a read of each job (spec §4).

        :param run_id: the run.
        """
        params = {"runId": run_id, "type": "approvalRequested"}
        events = (yield ApiRequest("GET", self._path("/events"), params=params)).body
        records = []
        for job_id in reversed(approval_job_ids(events)):
            job = yield from self.get_job.steps(job_id)
            if job.get("approvalRequested") is True:
                records.append(approval_record(job))
        return records

    arun_approvals = run_approvals.aio
