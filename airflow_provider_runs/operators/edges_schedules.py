"""Manage Edges schedules from a DAG: create or update one by name, pause, resume or cancel it.

Edges schedules have no update call and no name filter (``specs/edges.md`` §2.11: "to change
timing/inputs, cancel and recreate"; list filters ``uid``, ``status``, ``user_uid``,
``action_name``), and the schedule object does not echo the inputs, parameters, callback or
identities. The one field that round-trips is the ``name``, so
:class:`EdgesScheduleOperator` names a schedule ``"<name> #<digest>"``, where the digest is 12
hex characters of a SHA-256 over the whole definition as it is sent (action, inputs, parameters,
cron, time zone, first execution, identities, callback; callback header values enter only
through their own SHA-256). A task then lists the live schedules (``status`` ACTIVE, PAUSED,
COMPLETED) and compares names: the same name and digest is the same definition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, ClassVar, Literal

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_runs.core.errors import AmbiguousWriteError, ConflictError
from airflow_provider_runs.hooks.edges import EdgesHook, schedule_uid
from airflow_provider_runs.hooks.edges_requests import (
    ASSUMPTIONS,
    check_action,
    check_callback,
    check_input,
    check_schedule,
    launch_fields,
)
from airflow_provider_runs.links import RunLink, publish_run_url
from airflow_provider_runs.operators.edges_schedule_lookup import (
    DIGEST_CHARS,
    LIVE,
    MAX_NAME,
    cancel_quietly,
    definition_digest,
    live_schedules,
    sealed_callback,
    split_name,
)
from airflow_provider_runs.validation import (
    check_json,
    check_path_segment,
    fail_without_retry,
    invalid_arguments,
)
from airflow_provider_runs.waiting.errors import RunFailedError, RunFailedNoRetryError

TARGET = {"pause": "PAUSED", "resume": "ACTIVE", "cancel": "CANCELLED"}
Operation = Literal["pause", "resume", "cancel"]


class EdgesScheduleOperator(BaseOperator):
    """Create or update an Edges schedule by name; idempotent.

    The schedule is named ``"<name> #<digest of the definition>"`` (see the module docstring).
    Each run of the task lists the live schedules named ``name``:

    - one with this definition's digest exists: it is left as it is (``outcome="unchanged"``);
    - none: the schedule is created (``"created"``), and every live one with another digest
      (an older definition) is cancelled after the new one exists (``"updated"``; Edges has no
      update call). A replaced schedule that was PAUSED leaves the new one PAUSED too
      (``keep_paused``);
    - duplicates of the same digest (two DAG runs at once) are cancelled but the oldest.

    So a retry, or the next DAG run, creates nothing when the definition did not change, and a
    create that failed after it landed (a dropped answer) is found by the same look-up. A
    schedule named exactly ``name`` (made by hand, without a digest) is left alone, with a
    warning. A one-shot schedule (no ``cron``) that already ran is ``COMPLETED`` and is not
    recreated for an unchanged definition.

    :param name: the schedule's name (1 to 241 characters). Templated.
    :param action: the action slug, e.g. ``linkedin-extract-contact``. Templated.
    :param inputs: 1 to 100 input objects (a list, or its JSON text). Templated.
    :param parameters: action parameters. Templated.
    :param cron: 5-field cron (omit for a one-shot schedule). Templated.
    :param timezone: IANA time zone (default UTC). Templated.
    :param schedule_at: first (or only) execution time. Templated.
    :param callback: ``{url, headers?, on?}``; default the connection's ``callback_url``. Templated.
    :param identity_mode: ``direct``, ``auto`` or ``managed`` (default: the connection's). Templated.
    :param identity_ids: identity UIDs for ``direct`` mode. Templated.
    :param keep_paused: pause the new schedule when the one it replaces was paused (default).
    :param edges_conn_id: the connection id (default ``edges_default``). Templated.
    """

    template_fields: Sequence[str] = (
        "name",
        "action",
        "inputs",
        "parameters",
        "cron",
        "timezone",
        "schedule_at",
        "callback",
        "identity_mode",
        "identity_ids",
        "edges_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "inputs": "json",
        "parameters": "json",
        "callback": "json",
    }
    operator_extra_links = (RunLink(),)
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        name: str,
        action: str,
        inputs: Sequence[Mapping[str, Any]] | str,
        parameters: Mapping[str, Any] | None = None,
        cron: str | None = None,
        timezone: str | None = None,
        schedule_at: str | datetime | None = None,
        callback: Mapping[str, Any] | None = None,
        identity_mode: str | None = None,
        identity_ids: Sequence[str] | None = None,
        keep_paused: bool = True,
        edges_conn_id: str = EdgesHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.action = action
        self.inputs = inputs
        self.parameters = parameters
        self.cron = cron
        self.timezone = timezone
        self.schedule_at = schedule_at
        self.callback = callback
        self.identity_mode = identity_mode
        self.identity_ids = identity_ids
        self.keep_paused = keep_paused
        self.edges_conn_id = edges_conn_id

    @cached_property
    def hook(self) -> EdgesHook:
        """The Edges hook."""
        return EdgesHook(self.edges_conn_id)

    def validate_arguments(self) -> list[dict[str, Any]]:
        """Check the rendered arguments before any call; return the inputs as a list."""
        if not isinstance(self.name, str) or not 1 <= len(self.name.strip()) <= MAX_NAME:
            raise ValueError(f"name must be a string of 1 to {MAX_NAME} characters; got {self.name!r}")
        check_action(self.action)
        inputs: Any = self.inputs
        if isinstance(inputs, str):
            try:
                inputs = json.loads(inputs)
            except ValueError:
                raise ValueError(
                    "inputs must be a list of JSON objects; got a string that is not JSON"
                ) from None
        if isinstance(inputs, Mapping) or not isinstance(inputs, Sequence) or isinstance(inputs, bytes):
            raise ValueError("inputs must be a list of JSON objects")
        most = ASSUMPTIONS["max_schedule_inputs"]
        if not 1 <= len(inputs) <= most:
            raise ValueError(f"inputs must hold 1 to {most} inputs for a schedule; got {len(inputs)}")
        for i, item in enumerate(inputs):
            check_input(item, f"inputs[{i}]")
        if self.parameters is not None:
            if not isinstance(self.parameters, Mapping):
                raise ValueError("parameters must be a JSON object")
            check_json(self.parameters, "parameters")
        check_callback(self.callback)
        check_schedule(self.cron, self.timezone, self.schedule_at)
        return [dict(item) for item in inputs]

    def definition(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """Everything the create call sends besides the name (the connection's defaults included)."""
        fields = launch_fields(
            self.hook.settings.extras,
            self.parameters,
            self.callback,
            self.identity_mode,
            self.identity_ids,
            None,
        )
        fields["callback"] = sealed_callback(fields.get("callback"))
        return {
            "action": self.action,
            "inputs": inputs,
            "cron": self.cron,
            "timezone": self.timezone or "UTC",
            "schedule_at": check_schedule(self.cron, self.timezone, self.schedule_at),
            **fields,
        }

    def execute(self, context: Any) -> dict[str, Any]:
        """Find the schedule by name; create, replace or leave it; return its manifest."""
        with fail_without_retry():
            with invalid_arguments():
                inputs = self.validate_arguments()
            self.name = self.name.strip()
            full = f"{self.name} #{definition_digest(self.definition(inputs))}"
            found = live_schedules(self.hook, self.name)
            for bare in (s for s in found if s.get("name") == self.name):
                self.log.warning(
                    "Schedule %s is named %r without a digest: not managed by this task, left as it is.",
                    schedule_uid(bare),
                    self.name,
                )
            same = [s for s in found if s.get("name") == full]
            stale = [s for s in found if split_name(s.get("name"))[1] not in (None, full[-DIGEST_CHARS:])]
            if same:
                kept, outcome = same[0], "unchanged"
                self.log.info("Schedule %s (%s) already has this definition.", schedule_uid(kept), full)
            else:
                kept = self._create(inputs, full)
                outcome = "updated" if any(s.get("status") in LIVE for s in stale) else "created"
                if self.keep_paused and any(s.get("status") == "PAUSED" for s in stale):
                    kept = self.hook.schedule_action(schedule_uid(kept), "pause") or kept
            replaced = []
            for old in [s for s in stale if s.get("status") in LIVE] + [
                s for s in same[1:] if s.get("status") in LIVE
            ]:
                uid = schedule_uid(old)
                self.log.info(
                    "Cancelling schedule %s (%s): replaced by %s.", uid, old.get("name"), schedule_uid(kept)
                )
                cancel_quietly(self.hook, uid)
                replaced.append(uid)
            uid = schedule_uid(kept)
            url = self.hook.schedule_url(uid)
            publish_run_url(self, context, url)
            return {
                "schedule_uid": uid,
                "name": kept.get("name") or full,
                "outcome": outcome,
                "status": kept.get("status"),
                "cron": kept.get("cron"),
                "timezone": kept.get("timezone"),
                "next_execution_at": kept.get("next_execution_at"),
                "created_at": kept.get("created_at"),
                "replaced": replaced,
                "url": url,
            }

    def _create(self, inputs: list[dict[str, Any]], full: str) -> dict[str, Any]:
        """Create the schedule; after an ambiguous failure, adopt it if it landed."""
        try:
            created = self.hook.run_schedule(
                self.action,
                inputs,
                cron=self.cron,
                timezone=self.timezone,
                schedule_at=self.schedule_at,
                parameters=self.parameters,
                callback=self.callback,
                identity_mode=self.identity_mode,
                identity_ids=self.identity_ids,
                name=full,
            )
        except AmbiguousWriteError as exc:
            landed = [s for s in live_schedules(self.hook, self.name) if s.get("name") == full]
            if not landed:
                raise
            self.log.warning("Creating the schedule failed ambiguously (%s) but it exists.", exc)
            return landed[0]
        self.log.info("Created schedule %s (%s).", schedule_uid(created), full)
        return dict(created)


class EdgesScheduleActionOperator(BaseOperator):
    """Pause, resume or cancel an Edges schedule, by uid or by name; idempotent.

    The schedule is read first: one already in the wanted state is a success without a request
    (pausing a paused schedule, cancelling a cancelled one; cancelling a ``COMPLETED`` one-shot
    too: it will not run again). A 409 answer is read again the same way (another client got
    there first). Pausing or resuming a cancelled or completed schedule fails without retrying.

    By ``name``, every live schedule named ``name`` or ``"<name> #<digest>"``
    (:class:`EdgesScheduleOperator`'s names) is acted on; cancelling a name that has no live
    schedule any more is a success (a retry after the cancel landed), with a warning.

    :param operation: ``pause``, ``resume`` or ``cancel``. Templated.
    :param schedule_uid: the schedule's uid (or give ``name``). Templated.
    :param name: the schedule's name (or give ``schedule_uid``). Templated.
    :param edges_conn_id: the connection id (default ``edges_default``). Templated.
    """

    template_fields: Sequence[str] = ("operation", "schedule_uid", "name", "edges_conn_id")
    operator_extra_links = (RunLink(),)
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        operation: Operation,
        schedule_uid: str | None = None,
        name: str | None = None,
        edges_conn_id: str = EdgesHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.operation = operation
        self.schedule_uid = schedule_uid
        self.name = name
        self.edges_conn_id = edges_conn_id

    @cached_property
    def hook(self) -> EdgesHook:
        """The Edges hook."""
        return EdgesHook(self.edges_conn_id)

    def validate_arguments(self) -> None:
        """Exactly one of ``schedule_uid`` and ``name``; a known ``operation``."""
        if self.operation not in TARGET:
            raise ValueError(f"operation must be pause, resume or cancel; got {self.operation!r}")
        if (self.schedule_uid is None) == (self.name is None):
            raise ValueError("give exactly one of schedule_uid and name")
        if self.schedule_uid is not None:
            check_path_segment(self.schedule_uid, "schedule_uid")
        elif not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty string; got {self.name!r}")

    def execute(self, context: Any) -> dict[str, Any]:
        """Act on the schedule(s); return each one's uid, name, status and whether it changed."""
        with fail_without_retry():
            with invalid_arguments():
                self.validate_arguments()
            if self.schedule_uid is not None:
                targets = [dict(self.hook.get_schedule(self.schedule_uid))]
            else:
                targets = live_schedules(self.hook, str(self.name).strip(), LIVE)
                if not targets:
                    if self.operation != "cancel":
                        raise RunFailedNoRetryError(
                            f"No live Edges schedule is named {self.name!r}; cannot {self.operation} it"
                        )
                    self.log.warning("No live Edges schedule is named %r: nothing to cancel.", self.name)
            results = [self._apply(s) for s in targets]
            if results:
                publish_run_url(self, context, results[0]["url"])
            return {"operation": self.operation, "schedules": results}

    def _apply(self, schedule: Mapping[str, Any]) -> dict[str, Any]:
        uid, status = schedule_uid(schedule), str(schedule.get("status"))
        target = TARGET[self.operation]
        changed = False
        if not self._done(status):
            if status in ("CANCELLED", "COMPLETED"):
                raise RunFailedNoRetryError(
                    f"Edges schedule {uid} is {status}; it cannot be {self.operation}d. "
                    f"Schedule: {self.hook.schedule_url(uid)}"
                )
            try:
                status = str(self.hook.schedule_action(uid, self.operation).get("status") or target)
                changed = True
            except ConflictError as exc:
                status = str(self.hook.get_schedule(uid).get("status"))
                if not self._done(status):
                    raise RunFailedError(f"{exc}. Schedule: {self.hook.schedule_url(uid)}") from exc
        self.log.info("Schedule %s is %s%s.", uid, status, "" if changed else " (no request needed)")
        return {
            "schedule_uid": uid,
            "name": schedule.get("name"),
            "status": status,
            "changed": changed,
            "url": self.hook.schedule_url(uid),
        }

    def _done(self, status: str) -> bool:
        """Whether a schedule in ``status`` already is where the operation leads."""
        return status == TARGET[self.operation] or (self.operation == "cancel" and status == "COMPLETED")
