"""The transport settings a connection holds in its extras, checked before any HTTP call.

Each setting is the hook's argument when one is given, else the connection's extra of the same
name (the connection form shows them: :data:`~airflow_provider_runs.services.descriptor.TRANSPORT_FIELDS`),
else the default. The form of Airflow 3.1 stores every field as text, so numbers and flags are
read from text too. A bad value is a ``ValueError`` naming the connection and the field.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from airflow_provider_runs.core.http.network import ca_context, check_proxy
from airflow_provider_runs.core.retry import DEFAULT_RETRY, RetryPolicy

NUMBERS: tuple[tuple[str, type[float] | type[int]], ...] = (
    ("connect_timeout", float),
    ("read_timeout", float),
    ("total_timeout", float),
    ("max_response_bytes", int),
    ("max_retry_after", float),
)
"""The positive numbers a connection may set, and their kind."""
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def transport_options(conn_id: str, extras: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :class:`~airflow_provider_runs.core.http.TransportConfig` for a
    connection: the numbers of :data:`NUMBERS`, ``retry``, ``proxy``, ``verify`` and ``ca_bundle``.

    :param conn_id: the connection's id (named in errors).
    :param extras: the connection's extra fields.
    :param given: the hook's arguments of the same names (``None``: not given), and ``retry`` (a
        :class:`~airflow_provider_runs.core.retry.RetryPolicy`, which wins over ``max_retries``).
    """
    options: dict[str, Any] = {}
    for name, kind in NUMBERS:
        value = given.get(name)
        if value is None:
            value = extras.get(name)
        if not _empty(value):
            options[name] = positive(conn_id, name, value, kind)
    retry = retry_policy(conn_id, extras.get("max_retries"))  # checked even when the hook's wins
    options["retry"] = given["retry"] if given.get("retry") is not None else retry
    options["proxy"] = _checked(conn_id, check_proxy, extras.get("proxy"))
    verify = flag(conn_id, "verify", extras.get("verify"), default=True)
    ca_bundle = extras.get("ca_bundle")
    if _empty(ca_bundle):
        ca_bundle = None
    elif not isinstance(ca_bundle, str):
        raise ValueError(
            f"Connection {conn_id!r}: ca_bundle must be a file path; got a {type(ca_bundle).__name__}"
        )
    elif not verify:
        raise ValueError(
            f"Connection {conn_id!r}: verify is false and ca_bundle is set: certificates are either not "
            "checked or checked against the bundle; clear one of the two"
        )
    else:
        ca_bundle = ca_bundle.strip()
        _checked(conn_id, ca_context, ca_bundle)  # loaded (and cached) now: a bad bundle fails here
    options["verify"], options["ca_bundle"] = verify, ca_bundle
    return options


def positive(conn_id: str, name: str, value: Any, kind: type[float] | type[int]) -> float | int:
    """``value`` as a finite number above 0 of ``kind``, else a ``ValueError`` naming ``name``.

    :param conn_id: the connection's id (named in the error).
    :param name: the setting's name.
    :param value: the setting as given (a number or its text).
    :param kind: ``float`` or ``int``.
    """
    try:
        number = kind(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not 0 < number < math.inf:
        raise ValueError(f"Connection {conn_id!r}: {name} must be a positive number; got {value!r}")
    return number


def retry_policy(conn_id: str, value: Any) -> RetryPolicy:
    """The retry policy of a connection's ``max_retries`` (the retries after a failed first
    attempt; empty: :data:`~airflow_provider_runs.core.retry.DEFAULT_RETRY`'s).

    :param conn_id: the connection's id (named in the error).
    :param value: the setting as given (a whole number >= 0 or its text).
    """
    if _empty(value):
        return DEFAULT_RETRY
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (0 <= number < math.inf and number == int(number)):
        raise ValueError(
            f"Connection {conn_id!r}: max_retries must be a whole number >= 0 (0: no retry); got {value!r}"
        )
    return dataclasses.replace(DEFAULT_RETRY, max_attempts=int(number) + 1)


def flag(conn_id: str, name: str, value: Any, *, default: bool) -> bool:
    """``value`` as a boolean: ``true``/``false`` (or yes/no, on/off, 1/0) in any case.

    :param conn_id: the connection's id (named in the error).
    :param name: the setting's name.
    :param value: the setting as given.
    :param default: the value of an empty setting.
    """
    if _empty(value):
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"Connection {conn_id!r}: {name} must be true or false; got {value!r}")


def _empty(value: Any) -> bool:
    """Whether a setting is unset: missing, ``None`` or blank text."""
    return value is None or (isinstance(value, str) and not value.strip())


def _checked(conn_id: str, check: Callable[[Any], Any], value: Any) -> Any:
    """``check(value)``, its ``ValueError`` (which names the setting) prefixed with the connection."""
    try:
        return check(value)
    except ValueError as exc:
        raise ValueError(f"Connection {conn_id!r}: {exc}") from None
