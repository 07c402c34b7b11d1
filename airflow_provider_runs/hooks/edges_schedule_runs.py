"""The narrow look-up of a schedule's next run (part of
:class:`~airflow_provider_runs.hooks.edges.EdgesHook`).

Edges lists runs with filters ``status``, ``action_name``, ``execution_mode``, ``uid``,
``user_uid`` and ``flow_run_id`` and sorts them by ``created_at`` (``specs/edges.md`` §2.4); it
has no ``scheduled_run_uid`` filter, but every run a schedule creates carries that field (§2.11).
So one poll is one request: the newest runs of the schedule's action,
``GET /runs?action_name=<action>&sort=-created_at&limit=<n>``, matched here on
``scheduled_run_uid``. A next page is read only while the page is full and its oldest run is
still not older than the cut-off (many runs of the action since then), up to ``max_pages``.

Times are compared as aware datetimes, never as text: ``created_at`` is read by the package's
one tolerant parser (:func:`~airflow_provider_runs.validation.service_time`: ``Z`` or an offset,
0 to 9 fraction digits), and the cut-off is floored to the second, so a service that drops the
fraction of ``created_at`` does not hide a run created in the same second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_runs.core.calls import Call, api_call
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.hooks.base import RunsHook
from airflow_provider_runs.hooks.edges_requests import ASSUMPTIONS, run_list_params
from airflow_provider_runs.validation import service_time

SCHEDULE_RUNS_PAGE = 20
"""Runs of the action read per request (the schedule's newest run is nearly always on it)."""
SCHEDULE_RUNS_MAX_PAGES = 10
"""The most pages one poll reads (only when the action started more runs than a page since)."""


def floor_second(moment: datetime) -> datetime:
    """``moment`` without its fraction of a second (the cut-off a run's ``created_at`` is compared to).

    :param moment: an aware datetime.
    """
    return moment.replace(microsecond=0)


@dataclass(frozen=True)
class PageVerdict:
    """What one page of runs said: the schedule's runs created since the cut-off, and whether
    an older page may hold more of them."""

    matches: tuple[tuple[datetime, Mapping[str, Any]], ...]
    read_on: bool


def judge_page(
    page: Iterable[Any], schedule_uid: str, created_after: datetime, page_size: int
) -> PageVerdict:
    """Read one page of runs (newest first) for the schedule's runs created at or after the cut-off.

    :param page: the listed runs.
    :param schedule_uid: the schedule's uid.
    :param created_after: the cut-off (floored to the second here).
    :param page_size: the page size asked for (a shorter page is the last one).
    """
    cut = floor_second(created_after)
    rows = [run for run in page if isinstance(run, Mapping)]
    matches = []
    oldest: datetime | None = None
    for run in rows:
        created = service_time(run, "created_at", service="Edges")
        if created is None:
            continue
        oldest = created if oldest is None else min(oldest, created)
        if run.get("scheduled_run_uid") == schedule_uid and created >= cut and run.get("uid"):
            matches.append((created, run))
    read_on = len(rows) >= page_size and oldest is not None and oldest >= cut
    return PageVerdict(tuple(matches), read_on)


def next_run(matches: Iterable[tuple[datetime, Mapping[str, Any]]]) -> dict[str, Any] | None:
    """The schedule's next run: the oldest of its runs created since the cut-off (``None``: none yet).

    :param matches: ``(created_at, run)`` pairs (:attr:`PageVerdict.matches`).
    """
    ordered = sorted(matches, key=lambda pair: (pair[0], str(pair[1].get("uid"))))
    return dict(ordered[0][1]) if ordered else None


class EdgesScheduleRunCalls(RunsHook):
    """The schedule-run look-up of :class:`~airflow_provider_runs.hooks.edges.EdgesHook`."""

    @api_call
    def find_schedule_run(
        self,
        schedule_uid: str,
        *,
        action_name: str,
        created_after: datetime,
        page_size: int = SCHEDULE_RUNS_PAGE,
        max_pages: int = SCHEDULE_RUNS_MAX_PAGES,
    ) -> Call[dict[str, Any] | None]:
        """The schedule's first run created at or after ``created_after`` (``None``: none yet).

        One ``GET /runs?action_name=...&sort=-created_at&limit=...`` in the usual case (see the
        module docstring).

        :param schedule_uid: the schedule's uid.
        :param action_name: the schedule's action (its ``action_name``).
        :param created_after: the cut-off, an aware datetime.
        :param page_size: runs per request (1 to 100).
        :param max_pages: the most requests.
        """
        if not 1 <= page_size <= ASSUMPTIONS["list_limit_max"]:
            raise ValueError(f"page_size must be between 1 and {ASSUMPTIONS['list_limit_max']}")
        if created_after.tzinfo is None:
            raise ValueError("created_after must be an aware datetime")
        matches: list[tuple[datetime, Mapping[str, Any]]] = []
        for page_number in range(max_pages):
            params = run_list_params(
                {"action_name": [action_name]}, "-created_at", page_size, page_number * page_size
            )
            body = (yield ApiRequest("GET", "/runs", params=params)).body
            verdict = judge_page(
                body if isinstance(body, list) else [], schedule_uid, created_after, page_size
            )
            matches.extend(verdict.matches)
            if not verdict.read_on:
                break
        return next_run(matches)

    afind_schedule_run = find_schedule_run.aio
