"""Local checks of task arguments, and the errors a retry cannot fix.

Every check here runs before any HTTP call and raises :class:`InvalidArgumentError` naming the
argument. That error is both a ``ValueError`` and Airflow's ``AirflowFailException``: the task
fails without retrying, since a retry would fail the same way.

:func:`fail_without_retry` does the same for service answers no retry can change: 401/403
(:class:`~airflow_provider_runs.core.errors.AuthError`) and 400/413/422
(:class:`~airflow_provider_runs.core.errors.BadRequestError`). The converted error keeps its
class (``isinstance(err, AuthError)`` still holds), message, status code and run URL.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_runs.core.errors import (
    AuthError,
    BadRequestError,
    RunsApiError,
    _rebuild,
    retry_cannot_fix,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter

MAX_POLL_INTERVAL = 24 * 3600.0
"""The longest ``poll_interval`` accepted (one day)."""
MAX_TIMEOUT = 365 * 24 * 3600.0
"""The longest ``timeout`` accepted (365 days)."""
MAX_SECONDS = {"poll_interval": MAX_POLL_INTERVAL, "timeout": MAX_TIMEOUT}
"""Status codes of a :class:`BadRequestError` that fail the task without retrying."""


class InvalidArgumentError(AirflowFailException, ValueError):
    """A task argument is invalid: raised before any HTTP call; the task is not retried."""


class NoRetryAuthError(AuthError, AirflowFailException):  # type: ignore[misc]  # status_code: ours wins
    """401/403 in a task: the key is wrong or lacks permission; retrying cannot help."""


class NoRetryBadRequestError(BadRequestError, AirflowFailException):  # type: ignore[misc]
    """400/413/422 in a task: the service refused the request as invalid; retrying cannot help."""


def non_retryable(exc: BaseException) -> BaseException | None:
    """The ``AirflowFailException`` twin of a service error no retry can fix, else ``None``."""
    if isinstance(exc, AirflowFailException) or not isinstance(exc, RunsApiError):
        return None
    if not retry_cannot_fix(exc):
        return None
    cls: type[RunsApiError] = NoRetryAuthError if isinstance(exc, AuthError) else NoRetryBadRequestError
    return _rebuild(cls, exc.message, dict(exc.__dict__))


@contextmanager
def fail_without_retry() -> Iterator[None]:
    """Re-raise auth and bad-request service errors as ``AirflowFailException`` (same message)."""
    try:
        yield
    except RunsApiError as exc:
        fatal = non_retryable(exc)
        if fatal is None:
            raise
        raise fatal.with_traceback(exc.__traceback__) from None


@contextmanager
def invalid_arguments() -> Iterator[None]:
    """Re-raise a ``ValueError`` from argument checks as :class:`InvalidArgumentError`."""
    try:
        yield
    except InvalidArgumentError:
        raise
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)).with_traceback(exc.__traceback__) from None


# -- ids in URL paths ----------------------------------------------------------------------------
def check_path_segment(value: Any, what: str = "id") -> str:
    """Check an id that goes into one URL path segment; return it unchanged.

    Refused: non-strings, empty or blank strings, ``.`` and ``..`` (they walk the path), ``/``
    and control characters. Everything else is percent-encoded by the caller.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a string; got {type(value).__name__}")
    if not value.strip():
        raise InvalidArgumentError(f"{what} {value!r} is empty")
    if value.strip() in (".", ".."):
        raise InvalidArgumentError(f"{what} {value!r} is not an id (a '.' or '..' path segment)")
    if "/" in value:
        raise InvalidArgumentError(f"{what} {value!r} is not an id (it contains '/')")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidArgumentError(f"{what} {value!r} is not an id (it contains control characters)")
    return value


# -- durations -----------------------------------------------------------------------------------
def check_seconds(value: timedelta | float | int | None, name: str) -> float | None:
    """A positive, finite duration in seconds, at most ``MAX_SECONDS[name]`` (``None`` passes)."""
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise InvalidArgumentError(
            f"{name} must be a positive number of seconds or a timedelta; got {value!r}"
        )
    if not math.isfinite(seconds):
        raise InvalidArgumentError(f"{name} must be a finite number of seconds; got {value!r}")
    if seconds <= 0:
        raise InvalidArgumentError(
            f"{name} must be a positive number of seconds or a timedelta; got {value!r}"
        )
    maximum = MAX_SECONDS.get(name)
    if maximum is not None and seconds > maximum:
        raise InvalidArgumentError(
            f"{name} must be at most {maximum:,.0f} seconds ({_human(maximum)}); got {value!r}"
        )
    return float(seconds)


def _human(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:g} day" + ("s" if days != 1 else "")


# -- JSON ----------------------------------------------------------------------------------------
def check_json(value: Any, name: str) -> None:
    """Check that ``value`` serializes to strict JSON (no NaN/Infinity, only JSON types)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        where, why = _first_non_json(value, name, set()) or (name, str(exc))
        raise InvalidArgumentError(f"{where} is not valid JSON: {why}") from None


def templated_object(value: Any, name: str) -> Any:
    """A templated JSON object: a string (a template rendered to JSON text) is parsed; anything
    else is returned as it is (the request check names what is wrong with it).

    :param value: the rendered argument.
    :param name: the argument's name, for the error.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{name} must be a JSON object; got a string that is not JSON") from None
    return value


def _first_non_json(value: Any, where: str, seen: set[int]) -> tuple[str, str] | None:
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, f"{value!r} is not a JSON number")
    if isinstance(value, Mapping | list | tuple):
        if id(value) in seen:
            return where, "it contains itself (a circular reference)"
        seen = seen | {id(value)}
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not (key is None or isinstance(key, str | int | float | bool)):
                    return where, f"key {key!r} is a {type(key).__name__}, not a string"
                found = _first_non_json(item, f"{where}[{key!r}]", seen)
                if found:
                    return found
            return None
        for i, item in enumerate(value):
            found = _first_non_json(item, f"{where}[{i}]", seen)
            if found:
                return found
        return None
    return where, f"{type(value).__name__} values are not JSON serializable"


# -- dates ---------------------------------------------------------------------------------------
_DATE_FIRST = re.compile(r"\d{4}-\d{2}-\d{2}")
"""A date-time starts with its full date (pydantic alone would read ``"1700000000"`` as UNIX time)."""
SHOWN_CHARS = 80
"""The most characters of an unreadable value quoted in a message."""
log = logging.getLogger(__name__)


@functools.cache
def _datetime_adapter() -> TypeAdapter[datetime]:
    """pydantic's date-time validator (RFC 3339 / ISO 8601), built once when first needed."""
    from pydantic import TypeAdapter

    return TypeAdapter(datetime)


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 / ISO 8601 date-time as an aware ``datetime``, the same on every Python version
    (``datetime.fromisoformat`` before 3.11 refuses most of these). The one parser of the package
    for service timestamps, arguments and its own records.

    Accepted: ``T``, ``t`` or a space between date and time; ``Z``, ``z`` or an offset
    (``+02:00``, ``-0530``); 0 to 9 or more fraction digits (beyond microseconds truncated, as a Go
    service's nanoseconds); a date alone (midnight). A value without an offset is UTC. The
    result's ``tzinfo`` is a ``datetime.timezone``. Anything else is a ``ValueError`` quoting it.

    :param value: the text.
    """
    text = value.strip()
    if _DATE_FIRST.match(text):
        try:
            parsed = _datetime_adapter().validate_python(text)
        except ValueError:  # pydantic's ValidationError
            pass
        else:
            offset = parsed.utcoffset()
            return parsed.replace(tzinfo=timezone.utc if offset is None else timezone(offset))
    raise ValueError(f"{value[:SHOWN_CHARS]!r} is not an ISO 8601 date-time such as 2026-01-31T09:00:00Z")


def parse_datetime(value: Any, name: str) -> datetime | None:
    """An ISO 8601 / RFC 3339 date-time argument (string or ``datetime``) as an aware ``datetime``
    (see :func:`parse_timestamp`); a ``datetime`` without ``tzinfo`` is taken as UTC. ``None``
    passes; anything else is an :class:`InvalidArgumentError` naming the argument.

    :param value: the argument's value.
    :param name: the argument's name, for the error.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError as exc:
            raise InvalidArgumentError(f"{name} {exc}") from None
    raise InvalidArgumentError(f"{name} must be an ISO 8601 string or a datetime; got {type(value).__name__}")


def service_time(item: Mapping[str, Any], field: str, *, service: str) -> datetime | None:
    """A timestamp a service sent, ``item[field]``, as an aware ``datetime``
    (:func:`parse_timestamp`); ``None`` when absent (missing, ``null`` or empty).

    A value that does not parse is reported, once per value in the process, as a warning naming
    the service, the field, the object's id and the value, and gives ``None``: the caller decides
    without it (a look-up then cannot bound its search by that object's creation time).

    :param item: the object the service returned (a run, a task).
    :param field: the timestamp's field, e.g. ``created_at``.
    :param service: the service's display name, for the warning.
    """
    value = item.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError:
            pass
    ident = item.get("id") or item.get("uid")
    _report_unreadable(service, field, repr(value)[:SHOWN_CHARS], None if ident is None else str(ident))
    return None


@functools.lru_cache(maxsize=256)
def _report_unreadable(service: str, field: str, shown: str, ident: str | None) -> None:
    """Warn once about a service timestamp that does not parse."""
    of = f" of {ident!r}" if ident else ""
    log.warning(
        "%s sent %s %s%s, which is not an RFC 3339 date-time: it is ignored (a look-up cannot "
        "bound its search by it)",
        service,
        field,
        shown,
        of,
    )


# -- output files --------------------------------------------------------------------------------
def check_output_path(value: Any, name: str) -> str | None:
    """Check where a result file goes, before the run exists; return it as a string.

    A URL (``s3://...``) is checked when written. A local path must not be a directory, and the
    nearest existing parent must be a writable directory (missing parents are created on write).
    ``None`` passes (nothing is written); ``""`` is refused.
    """
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a file path or URL string; got {type(value).__name__}")
    if not value.strip():
        raise InvalidArgumentError(f"{name} is empty: give a file path or URL, or leave {name} out")
    if "://" in value:
        return value
    path = Path(value)
    if path.is_dir():
        raise InvalidArgumentError(f"{name} {value!r} is a directory: give a file path")
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidArgumentError(f"{name} {value!r} is not writable")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InvalidArgumentError(f"{name} {value!r}: {str(parent)!r} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidArgumentError(f"{name} {value!r}: directory {str(parent)!r} is not writable")
    return value
