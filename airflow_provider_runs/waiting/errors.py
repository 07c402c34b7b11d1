"""How a wait fails a task."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class RunFailedError(AirflowException):
    """The remote run ended without success (failed, cancelled, timed out, or unreadable)."""


class RunFailedNoRetryError(RunFailedError, AirflowFailException):
    """Waiting failed for a reason no retry can fix (e.g. the key was refused): not retried."""
