"""What the Edges hook sends and reads, without I/O: argument checks, launch bodies, list
queries, error bodies, and the spec's marked assumptions (:data:`ASSUMPTIONS`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_runs.core.errors import RunsApiError
from airflow_provider_runs.core.http import StreamedJson
from airflow_provider_runs.hooks.edges_states import RUN_STATES
from airflow_provider_runs.validation import InvalidArgumentError, check_json, parse_datetime

ASSUMPTIONS: dict[str, Any] = {
    "max_async_inputs": 100_000,  # §2.2
    "max_schedule_inputs": 100,  # §2.3 / §8 #8
    "list_limit_max": 100,  # §2.4
    "outputs_page_size": 100,  # §8 #12: clients stay at <= 100
    "inputs_page_size": 100,  # §2.7
    "callbacks_limit_max": 20,  # §2.10
    "sort_fields": ("created_at", "updated_at", "status"),  # §8 #11
    "max_sort_items": 10,  # §1
    "schedule_uid_keys": ("scheduled_run_uid", "schedule_run_uid", "uid"),  # §2.3
    "live_timeout": 60.0,  # §8 #7
}
"""The spec's marked assumptions, in one place."""

ACTION_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
UUID_RE = re.compile(r"^[0-9a-fA-F-]{8,64}$")
IDENTITY_MODES = ("direct", "auto", "managed")
RUN_LIST_FILTERS = (
    "status",
    "action_name",
    "execution_mode",
    "uid",
    "user_uid",
    "workspace_uid",
    "flow_run_id",
)
SCHEDULE_LIST_FILTERS = ("uid", "status", "user_uid", "action_name", "workspace_uid")
NO_CALLBACK = {"url": "https://no-callback.invalid/", "on": "final"}
"""The callback sent when none is configured (see :func:`launch_fields`)."""


class InputsTooManyError(InvalidArgumentError):
    """More inputs than one run accepts."""


def parse_error_body(status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
    """Read the Edges error body (``error_label``, ``message``, ``params``) or the raw text."""
    if isinstance(body, dict):
        label = body.get("error_label") or body.get("label")
        message = body.get("message")
        params = body.get("params")
        if isinstance(params, dict) and params.get("postponed_until"):
            message = f"{message} (postponed until {params['postponed_until']})"
        if message or label:
            return (str(message) if message else None), (str(label) if label else None)
    snippet = (text or "").strip()
    return (snippet[:500] or None), None


# -- argument checks ---------------------------------------------------------------------------
def check_action(action: Any) -> str:
    """Check an action slug."""
    if not isinstance(action, str) or not ACTION_SLUG.match(action):
        raise ValueError(f"action must be an action slug such as 'linkedin-extract-people'; got {action!r}")
    return action


def check_identity(identity_mode: Any, identity_ids: Any) -> None:
    """Check identity mode and ids (``direct`` needs ids)."""
    if identity_mode is not None and identity_mode not in IDENTITY_MODES:
        raise ValueError(f"identity_mode must be one of {', '.join(IDENTITY_MODES)}; got {identity_mode!r}")
    if identity_ids is not None:
        if isinstance(identity_ids, str) or not isinstance(identity_ids, Sequence):
            raise ValueError("identity_ids must be a list of identity UIDs")
        bad = [i for i in identity_ids if not isinstance(i, str) or not UUID_RE.match(i)]
        if bad:
            raise ValueError(f"identity_ids must be UUIDs; got {bad[:3]!r}")
    if identity_mode == "direct" and not identity_ids:
        raise ValueError('identity_mode="direct" needs identity_ids')


def identity_ids_setting(value: Any) -> list[str] | None:
    """The connection's ``identity_ids`` (comma-separated, or a list) as a list; ``None`` if unset."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def check_input(item: Any, where: str) -> None:
    """One input must be a JSON object (strict JSON: no NaN, only JSON types)."""
    if not isinstance(item, Mapping):
        raise ValueError(f"{where} must be a JSON object, got {type(item).__name__}")
    check_json(item, where)


def check_parameters(parameters: Any) -> dict[str, Any] | None:
    """Action parameters must be a JSON object (or ``None``); return a copy."""
    if parameters is None:
        return None
    if not isinstance(parameters, Mapping):
        raise ValueError("parameters must be a JSON object")
    return dict(parameters)


def check_schedule(cron: Any, timezone: Any, schedule_at: Any) -> str | None:
    """Check a schedule's ``cron``, ``timezone`` and ``schedule_at``; return ``schedule_at`` as
    an ISO 8601 string with offset (a value without one is taken as UTC), or ``None``."""
    if cron is not None and (not isinstance(cron, str) or len(cron.split()) != 5 or len(cron) > 256):
        raise ValueError(f"cron must be a 5-field cron expression (min hour dom mon dow); got {cron!r}")
    if timezone is not None and (not isinstance(timezone, str) or not 1 <= len(timezone) <= 64):
        raise ValueError("timezone must be an IANA time zone name")
    if timezone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone {timezone!r} is not an IANA time zone") from None
    when = parse_datetime(schedule_at, "schedule_at")
    return when.isoformat() if when is not None else None


def check_sort(sort: Any) -> list[str] | None:
    """Check ``sort`` (field names from the whitelist, ``-`` prefix for descending)."""
    if sort is None:
        return None
    items = [sort] if isinstance(sort, str) else list(sort)
    if not items or len(items) > ASSUMPTIONS["max_sort_items"]:
        raise ValueError(f"sort takes 1 to {ASSUMPTIONS['max_sort_items']} fields")
    for item in items:
        if not isinstance(item, str) or item.lstrip("-") not in ASSUMPTIONS["sort_fields"]:
            raise ValueError(f"sort field {item!r} is not one of {', '.join(ASSUMPTIONS['sort_fields'])}")
    return items


def check_callback(callback: Any) -> dict[str, Any] | None:
    """Check a callback object ``{url, headers?, on?}``."""
    if callback is None:
        return None
    if not isinstance(callback, Mapping) or not isinstance(callback.get("url"), str):
        raise ValueError("callback must be an object with a 'url'")
    if not callback["url"].startswith(("https://", "http://")):
        raise ValueError(f"callback url must be an https URL; got {callback['url']!r}")
    if callback.get("on") not in (None, "all", "final"):
        raise ValueError("callback 'on' must be 'all' or 'final'")
    if callback.get("headers") is not None and not isinstance(callback["headers"], Mapping):
        raise ValueError("callback headers must be an object")
    return dict(callback)


def check_count(total: int, maximum: int, mode: str) -> None:
    """A run takes 1 to ``maximum`` inputs in ``mode``; more is :class:`InputsTooManyError`."""
    if total < 1:
        raise ValueError(f"inputs must hold at least one input for {mode} mode")
    if total > maximum:
        raise InputsTooManyError(
            f"{mode} mode takes at most {maximum:,} inputs per run; got {total:,} "
            "(split them into several runs)"
        )


def inputs_factory(inputs: Any, count: int | None) -> tuple[Callable[[], Iterable[Mapping[str, Any]]], int]:
    """``(a callable giving the inputs afresh, their number)`` from a checked list, or from a
    callable with its ``count``."""
    if callable(inputs):
        if count is None:
            raise ValueError("count is required when inputs is streamed from a callable")
        return inputs, count
    if isinstance(inputs, str | bytes | Mapping) or not isinstance(inputs, Sequence):
        raise ValueError("inputs must be a list of JSON objects")
    for i, item in enumerate(inputs):
        check_input(item, f"inputs[{i}]")
    return (lambda: inputs), len(inputs)


# -- launch bodies -------------------------------------------------------------------------------
def identity_fields(
    extras: Mapping[str, Any], identity_mode: str | None, identity_ids: Sequence[str] | None
) -> dict[str, Any]:
    """Identity fields of a launch body, falling back to the connection's defaults.

    :param extras: the connection's extras (``identity_mode``, ``identity_ids``).
    :param identity_mode: the launch's mode, if given.
    :param identity_ids: the launch's identity UIDs, if given.
    """
    mode = identity_mode or extras.get("identity_mode") or None
    ids = list(identity_ids) if identity_ids else identity_ids_setting(extras.get("identity_ids"))
    check_identity(mode, ids)
    fields: dict[str, Any] = {}
    if mode:
        fields["identity_mode"] = mode
    if ids:
        fields["identity_ids"] = ids
    return fields


def launch_fields(
    extras: Mapping[str, Any],
    parameters: Mapping[str, Any] | None,
    callback: Mapping[str, Any] | None,
    identity_mode: str | None,
    identity_ids: Sequence[str] | None,
    name: str | None,
) -> dict[str, Any]:
    """The non-input fields of an async/schedule launch body, checked.

    :param extras: the connection's extras (identity defaults, ``callback_url``).
    :param parameters: the action parameters.
    :param callback: the callback object; default the connection's ``callback_url`` (final only).
    :param identity_mode: see :func:`identity_fields`.
    :param identity_ids: see :func:`identity_fields`.
    :param name: the run's name (1 to 255 characters).
    """
    fields = identity_fields(extras, identity_mode, identity_ids)
    checked = check_parameters(parameters)
    if checked is not None:
        fields["parameters"] = checked
    # The docs mark ``callback`` required (spec §2.2, §8 #2: "Provider always sends one
    # (on: final)"). Without one configured: a final-only callback to a reserved name that
    # never resolves (RFC 6761 ``.invalid``): a valid URL for the server, delivered to nobody.
    url = extras.get("callback_url")
    fields["callback"] = (
        check_callback(callback) or ({"url": url, "on": "final"} if url else None) or dict(NO_CALLBACK)
    )
    if name is not None:
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise ValueError("name must be a string of 1 to 255 characters")
        fields["name"] = name
    return fields


def streamed_launch_body(
    inputs_factory: Callable[[], Iterable[Mapping[str, Any]]], fields: Mapping[str, Any]
) -> StreamedJson:
    """``{"inputs": [...], <fields>}`` written input by input (never the whole list in memory)."""

    def chunks() -> Iterator[bytes]:
        yield b'{"inputs":['
        first = True
        batch: list[str] = []
        for item in inputs_factory():
            batch.append(("" if first else ",") + json.dumps(item, separators=(",", ":")))
            first = False
            if len(batch) >= 500:
                yield "".join(batch).encode()
                batch = []
        if batch:
            yield "".join(batch).encode()
        rest = json.dumps(dict(fields), separators=(",", ":"))[1:-1]
        yield (b"]," + rest.encode() + b"}") if rest else b"]}"

    return StreamedJson(chunks, "action inputs")


# -- list queries --------------------------------------------------------------------------------
def run_list_params(
    filters: Mapping[str, Any] | None, sort: Any, limit: int, offset: int
) -> list[tuple[str, Any]]:
    """Query pairs for ``GET /runs`` (array filters repeat their key)."""
    if not isinstance(limit, int) or not 1 <= limit <= ASSUMPTIONS["list_limit_max"]:
        raise ValueError(f"limit must be between 1 and {ASSUMPTIONS['list_limit_max']}; got {limit!r}")
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a non-negative integer; got {offset!r}")
    params: list[tuple[str, Any]] = [("limit", limit), ("offset", offset)]
    for key, value in (filters or {}).items():
        if key not in RUN_LIST_FILTERS:
            raise ValueError(f"unknown run filter {key!r}; use one of {', '.join(RUN_LIST_FILTERS)}")
        values = [value] if isinstance(value, str | int) else list(value)
        if not values:
            raise ValueError(f"filter {key!r} needs at least one value")
        if key == "status":
            bad = [v for v in values if v not in RUN_STATES]
            if bad:
                raise ValueError(f"unknown run status {bad[0]!r}; use one of {', '.join(RUN_STATES)}")
        params.extend((key, v) for v in values)
    return params + [("sort", item) for item in check_sort(sort) or []]


def schedule_list_params(
    filters: Mapping[str, Any] | None, sort: Any, limit: int, offset: int
) -> list[tuple[str, Any]]:
    """Query pairs for ``GET /schedules`` (filters ``uid``, ``status``, ``user_uid``,
    ``action_name``, ``workspace_uid``)."""
    params: list[tuple[str, Any]] = [("limit", limit), ("offset", offset)]
    for key, value in (filters or {}).items():
        if key not in SCHEDULE_LIST_FILTERS:
            raise ValueError(f"unknown schedule filter {key!r}")
        values = [value] if isinstance(value, str) else list(value)
        params.extend((key, v) for v in values)
    return params + [("sort", item) for item in check_sort(sort) or []]


def callback_list_params(
    run_uid: str | None, status: Sequence[str] | None, limit: int
) -> list[tuple[str, Any]]:
    """Query pairs for ``GET /runs/callbacks``."""
    if not 1 <= limit <= ASSUMPTIONS["callbacks_limit_max"]:
        raise ValueError(f"limit must be between 1 and {ASSUMPTIONS['callbacks_limit_max']}")
    params: list[tuple[str, Any]] = [("limit", limit)]
    if run_uid:
        params.append(("run_uid", run_uid))
    return params + [("status", s) for s in status or []]


def schedule_uid(schedule: Mapping[str, Any]) -> str:
    """The schedule's uid, whichever key the server used (spec assumption §2.3)."""
    for key in ASSUMPTIONS["schedule_uid_keys"]:
        if schedule.get(key):
            return str(schedule[key])
    raise RunsApiError(f"Edges returned a schedule without a uid: keys {sorted(schedule)}", service="edges")
