"""Find Edges schedules by name: the names that
:class:`~airflow_provider_runs.operators.edges_schedules.EdgesScheduleOperator` gives
(``"<name> #<digest of the definition>"``), the digest, and a cancel that tolerates a schedule
already cancelled."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow_provider_runs.core.errors import ConflictError
from airflow_provider_runs.hooks.edges import EdgesHook, schedule_uid
from airflow_provider_runs.validation import service_time

DIGEST_CHARS = 12
NAMED = re.compile(rf"^(?P<base>.+) #(?P<digest>[0-9a-f]{{{DIGEST_CHARS}}})$", re.DOTALL)
MAX_NAME = 255 - DIGEST_CHARS - 2
LIVE = ("ACTIVE", "PAUSED")
KNOWN = (*LIVE, "COMPLETED")
"""Statuses a look-up lists: a ``COMPLETED`` one-shot of the same definition already ran."""


def split_name(name: Any) -> tuple[str | None, str | None]:
    """``(base name, digest)`` of a schedule's name; ``(name, None)`` when it has no digest."""
    if not isinstance(name, str) or not name:
        return None, None
    match = NAMED.match(name)
    return (match["base"], match["digest"]) if match else (name, None)


def definition_digest(definition: Mapping[str, Any]) -> str:
    """12 hex characters of the SHA-256 of a definition's canonical JSON."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


def sealed_callback(callback: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The callback as the digest sees it: header values replaced by their SHA-256 (a secret in a
    header never enters the digest as text)."""
    if callback is None:
        return None
    sealed = dict(callback)
    headers = sealed.get("headers")
    if isinstance(headers, Mapping):
        sealed["headers"] = {k: hashlib.sha256(str(v).encode()).hexdigest() for k, v in headers.items()}
    return sealed


def created_key(schedule: Mapping[str, Any]) -> tuple[bool, Any, str]:
    """Sort key: oldest ``created_at`` first (unreadable last), then uid."""
    created = service_time(schedule, "created_at", service="Edges")
    return created is None, created or datetime.min, schedule_uid(schedule)


def live_schedules(hook: EdgesHook, base: str, statuses: Sequence[str] = KNOWN) -> list[dict[str, Any]]:
    """The schedules in ``statuses`` whose name is ``base`` or ``base #<digest>``, oldest first.

    :param hook: the Edges hook.
    :param base: the name the user gave.
    :param statuses: the statuses listed (the ``status`` filter).
    """
    found = [
        dict(s)
        for s in hook.iter_schedules(filters={"status": list(statuses)})
        if split_name(s.get("name"))[0] == base
    ]
    return sorted(found, key=created_key)


def cancel_quietly(hook: EdgesHook, uid: str) -> str:
    """Cancel a schedule; one already cancelled or completed counts as done (409 re-read)."""
    try:
        return str(hook.schedule_action(uid, "cancel").get("status") or "CANCELLED")
    except ConflictError:
        status = str(hook.get_schedule(uid).get("status"))
        if status in ("CANCELLED", "COMPLETED"):
            return status
        raise
