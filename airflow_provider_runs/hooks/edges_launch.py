"""The Edges launch calls (part of :class:`~airflow_provider_runs.hooks.edges.EdgesHook`): run an
action live on one input, async over up to 100,000 inputs, or on a schedule."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from airflow_provider_runs.core.calls import Call, Item, Items, api_call, api_items
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.hooks.base import RunsHook, json_object, path_segment
from airflow_provider_runs.hooks.edges_requests import (
    ASSUMPTIONS,
    check_action,
    check_count,
    check_input,
    check_parameters,
    check_schedule,
    identity_fields,
    inputs_factory,
    launch_fields,
    streamed_launch_body,
)

_obj = partial(json_object, service="edges", label="Edges")
_action = partial(path_segment, what="action")


class EdgesLaunchCalls(RunsHook):
    """The calls that start Edges runs and schedules; :class:`~airflow_provider_runs.hooks.edges.EdgesHook`
    is the hook to use (it adds the connection, the run calls and the run interface).

    Every launch body's identity fields and callback default to the connection's
    (``identity_mode``, ``identity_ids``, ``callback_url``).
    """

    @api_call
    def run_live(
        self,
        action: str,
        input: Mapping[str, Any],
        *,
        parameters: Mapping[str, Any] | None = None,
        identity_mode: str | None = None,
        identity_ids: Sequence[str] | None = None,
        next_url: str | None = None,
    ) -> Call[tuple[Any, str | None]]:
        """Run an action live on one input; return ``(result, next page URL or None)``."""
        check_action(action)
        check_input(input, "input")
        body: dict[str, Any] = {
            "input": dict(input),
            **identity_fields(self.settings.extras, identity_mode, identity_ids),
        }
        checked = check_parameters(parameters)
        if checked is not None:
            body["parameters"] = checked
        path = next_url or f"/actions/{_action(action)}/run/live"
        response = yield ApiRequest(
            "POST", path, json_body=body, idempotent=False, read_timeout=ASSUMPTIONS["live_timeout"]
        )
        return response.body, response.headers.get("X-Pagination-Next") or None

    arun_live = run_live.aio

    @api_items
    def iter_live_pages(
        self, action: str, input: Mapping[str, Any], *, max_pages: int = 10, **kwargs: Any
    ) -> Items[Any]:
        """Each page of a paginated live action, following ``X-Pagination-Next`` (at most
        ``max_pages``); ``kwargs`` go to :meth:`run_live`."""
        if not isinstance(max_pages, int) or max_pages < 1:
            raise ValueError(f"max_pages must be a positive integer; got {max_pages!r}")
        next_url = None
        for _ in range(max_pages):
            page, next_url = yield from self.run_live.steps(action, input, next_url=next_url, **kwargs)
            yield Item(page)
            if not next_url:
                return

    aiter_live_pages = iter_live_pages.aio

    @api_call
    def run_async(
        self,
        action: str,
        inputs: Sequence[Mapping[str, Any]] | Callable[[], Iterable[Mapping[str, Any]]],
        *,
        count: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        callback: Mapping[str, Any] | None = None,
        identity_mode: str | None = None,
        identity_ids: Sequence[str] | None = None,
        name: str | None = None,
    ) -> Call[dict[str, Any]]:
        """Launch an async run over 1 to 100,000 inputs; return the launch handle.

        ``inputs`` is a list, or a callable returning a fresh iterable (streamed: inputs are
        never all in memory), then ``count`` must give their number.
        """
        check_action(action)
        factory, total = inputs_factory(inputs, count)
        check_count(total, ASSUMPTIONS["max_async_inputs"], "async")
        fields = launch_fields(self.settings.extras, parameters, callback, identity_mode, identity_ids, name)
        response = yield ApiRequest(
            "POST",
            f"/actions/{_action(action)}/run/async",
            json_body=streamed_launch_body(factory, fields),
            idempotent=False,
            read_timeout=300,
        )
        return _obj(response.body)

    arun_async = run_async.aio

    @api_call
    def run_schedule(
        self,
        action: str,
        inputs: Sequence[Mapping[str, Any]],
        *,
        cron: str | None = None,
        timezone: str | None = None,
        schedule_at: str | datetime | None = None,
        parameters: Mapping[str, Any] | None = None,
        callback: Mapping[str, Any] | None = None,
        identity_mode: str | None = None,
        identity_ids: Sequence[str] | None = None,
        name: str | None = None,
    ) -> Call[dict[str, Any]]:
        """Create a schedule (1-100 inputs, optional 5-field cron); return the schedule object."""
        check_action(action)
        items = list(inputs)
        for i, item in enumerate(items):
            check_input(item, f"inputs[{i}]")
        check_count(len(items), ASSUMPTIONS["max_schedule_inputs"], "schedule")
        when = check_schedule(cron, timezone, schedule_at)
        fields = launch_fields(self.settings.extras, parameters, callback, identity_mode, identity_ids, name)
        schedule = {"cron": cron, "timezone": timezone, "schedule_at": when}
        fields.update({key: value for key, value in schedule.items() if value is not None})
        path = f"/actions/{_action(action)}/run/schedule"
        response = yield ApiRequest("POST", path, json_body={"inputs": items, **fields}, idempotent=False)
        return _obj(response.body)

    arun_schedule = run_schedule.aio
