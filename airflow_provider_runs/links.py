"""The "Run" extra link: opens the remote run of a task."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

RUN_URL_XCOM_KEY = "run_url"
"""XCom key of the run URL, pushed before the task waits."""
RUN_ID_XCOM_KEY = "run_id"
"""XCom key of the remote run id, pushed before the task waits."""


class RunLink(BaseOperatorLink):
    """Extra link to the remote run created (or watched) by the task."""

    name = "Run"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        """Return the run URL the task pushed to XCom, or an empty string."""
        url = XCom.get_value(ti_key=ti_key, key=RUN_URL_XCOM_KEY)
        return str(url) if url else ""
