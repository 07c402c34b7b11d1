"""The "Run" extra link: opens the remote run (or schedule) of a task in the service's web app.

The link's URL is pushed to XCom (``run_url``) before a task waits; Airflow asks
:meth:`RunLink.get_link` once, when the task ends in the worker, and the UI shows what it returned.
A task that published no URL (an Edges live call, a task that failed before its run existed) gets
an empty link without any XCom look-up, so nothing is logged for a link that does not apply.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

RUN_URL_XCOM_KEY = "run_url"
"""XCom key of the run URL, pushed before the task waits."""
RUN_ID_XCOM_KEY = "run_id"
"""XCom key of the remote run id, pushed before the task waits."""
PUBLISHED_URL_ATTRIBUTE = "_published_run_url"
"""Operator attribute holding the URL :func:`publish_run_url` pushed in this process."""


def publish_run_url(operator: Any, context: Any, url: str) -> None:
    """Push ``url`` as the task's link (XCom ``run_url``) and remember it on the operator, so the
    link needs no look-up in this process.

    :param operator: the running operator or sensor.
    :param context: the task's context (its ``ti`` pushes the XCom).
    :param url: the page of the run or schedule.
    """
    context["ti"].xcom_push(key=RUN_URL_XCOM_KEY, value=url)
    setattr(operator, PUBLISHED_URL_ATTRIBUTE, url)


def published_here(operator: Any) -> str | None:
    """The URL the operator published in this process; ``""`` when it cannot have published one
    (no run id known: the XCom was never pushed); ``None`` when it must be read from XCom (a task
    resumed after a deferral knows its run id, and its URL was pushed before it deferred).

    :param operator: the operator or sensor the link belongs to.
    """
    url = getattr(operator, PUBLISHED_URL_ATTRIBUTE, None)
    if url is not None:
        return str(url)
    return None if getattr(operator, "_run_id", None) else ""


class RunLink(BaseOperatorLink):
    """Extra link to the remote run created (or watched) by the task, or the schedule it created."""

    name = "Run"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """Return the run URL the task published, or an empty string (quietly) when there is none.

        :param operator: the operator or sensor (in the worker: the instance that ran the task).
        :param ti_key: the task instance the link is for.
        """
        known = published_here(operator)
        if known is not None:
            return known
        url = XCom.get_value(ti_key=ti_key, key=RUN_URL_XCOM_KEY)
        return str(url) if url else ""
