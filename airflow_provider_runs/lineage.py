"""OpenLineage for remote runs: the files a task read and wrote, and the run it waited for.

When ``apache-airflow-providers-openlineage`` is installed, OpenLineage calls each operator's
``get_openlineage_facets_on_complete`` in the worker once the task has ended (after a deferral, on
the operator that ran ``execute_complete``). :func:`operator_lineage` answers it with

- input and output datasets: the paths and URLs of the operator's
  :meth:`~airflow_provider_runs.operators.base.BaseRunOperator.lineage_datasets`, named by the
  OpenLineage naming spec (:func:`dataset_name`);
- two run facets: ``externalQuery`` (the remote run id, the service as its source) and
  ``runs_remoteRun`` (:class:`~airflow_provider_runs.lineage_facet.RemoteRunFacet`: the service,
  the run id and the run's page).

Nothing here imports OpenLineage until it is asked, so the package works without it, and nothing
here raises: a failure is logged as a warning and the lineage is empty. Secrets stay out: dataset
names drop user info, query strings and fragments, and every text passes the connection's redactor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_runs.operators.base import BaseRunOperator

log = logging.getLogger(__name__)

EXTERNAL_QUERY_FACET = "externalQuery"
"""Run facet key of the standard ``ExternalQueryRunFacet`` (as the BigQuery operators emit it)."""
REMOTE_RUN_FACET = "runs_remoteRun"
"""Run facet key of :class:`~airflow_provider_runs.lineage_facet.RemoteRunFacet` (prefixed, as
OpenLineage asks of custom facets)."""
OBJECT_STORES = {"s3": "s3", "s3a": "s3", "s3n": "s3", "gs": "gs", "gcs": "gs"}
"""URL schemes whose host is a bucket and whose path is a key (naming spec: ``s3://bucket``,
``gs://bucket``), with the scheme OpenLineage names them by."""
MAX_FILES = 100
"""The most file URLs :func:`file_uris` collects from one value."""
MAX_DEPTH = 32
"""How deep :func:`file_uris` looks into nested objects and lists."""


def dataset_name(uri: str) -> tuple[str, str] | None:
    """The OpenLineage ``(namespace, name)`` of a path or URL; ``None`` when it names no file.

    - ``s3://bucket/key`` -> ``("s3://bucket", "key")``; ``gs://`` (and ``gcs://``) alike;
    - ``https://host:port/path`` -> ``("https://host:port", "/path")``; any other
      ``scheme://host/path`` (``inf://files/...``, ``abfs://``, ...) alike;
    - ``file:///x`` or a plain path ``/x`` -> ``("file", "/x")``.

    User info (an Airflow ``s3://conn_id@bucket/key`` or a password), query strings (a
    presigned URL's signature) and fragments are left out.

    :param uri: the path or URL.
    """
    text = uri.strip() if isinstance(uri, str) else ""
    if not text:
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not scheme or (len(scheme) == 1 and text[1:2] == ":"):  # a plain (or Windows drive) path
        return "file", text
    host = parts.hostname or ""
    if scheme == "file":
        return ("file" if host in ("", "localhost") else f"file://{host}"), parts.path or "/"
    if not host or not text.lower().startswith(f"{scheme}://"):
        return None  # data:, mailto:, urn: ... name no file
    if scheme in OBJECT_STORES:
        key = parts.path.lstrip("/")
        return (f"{OBJECT_STORES[scheme]}://{host}", key) if key else None
    authority = f"{host}:{port}" if port is not None else host
    return f"{scheme}://{authority}", parts.path or "/"


def file_uris(value: Any) -> list[str]:
    """The file URLs in a JSON value (an app's input or output), in order, each once.

    A file is a string that is a URL naming a file (``scheme://host/...``, see
    :func:`dataset_name`; ``file://`` too) or an object's ``uri`` (inference.sh file objects
    ``{"uri", "filename", ...}``). Plain text, ``data:`` URIs and bare hosts are not files. At most
    :data:`MAX_FILES` are collected, down to :data:`MAX_DEPTH` levels.

    :param value: the JSON value.
    """
    found: dict[str, None] = {}

    def visit(item: Any, depth: int) -> None:
        if len(found) >= MAX_FILES or depth > MAX_DEPTH:
            return
        if isinstance(item, str):
            if _names_a_file(item):
                found.setdefault(item.strip(), None)
        elif isinstance(item, Mapping):
            for child in item.values():
                visit(child, depth + 1)
        elif isinstance(item, list | tuple):
            for child in item:
                visit(child, depth + 1)

    visit(value, 0)
    return list(found)


def _names_a_file(text: str) -> bool:
    """Whether a string is a URL naming a file: ``scheme://...`` with a path beyond ``/``."""
    text = text.strip()
    scheme = text.partition("://")[0]
    if len(scheme) < 2 or not scheme.isascii() or not scheme.replace("+", "").isalnum():
        return False
    named = dataset_name(text)
    return named is not None and named[1] not in ("", "/")


def datasets(uris: Iterable[str], redact: Callable[[str], str] = str) -> list[Any]:
    """OpenLineage datasets of ``uris`` (each once; those naming no file are left out).

    :param uris: paths and URLs.
    :param redact: applied to every namespace and name (the connection's redactor).
    """
    from airflow.providers.common.compat.openlineage.facet import Dataset

    seen: dict[tuple[str, str], None] = {}
    for uri in uris:
        named = dataset_name(uri) if isinstance(uri, str) else None
        if named is not None:
            seen.setdefault((redact(named[0]), redact(named[1])), None)
    return [Dataset(namespace=namespace, name=name) for namespace, name in seen]


def run_facets(service: str, run_id: str | None, url: str | None) -> dict[str, Any]:
    """The run facets of a remote run: ``externalQuery`` and ``runs_remoteRun``; none without a run.

    :param service: the service's name (``edges``, ...).
    :param run_id: the remote run id (``None``: the task created no run, e.g. an Edges schedule).
    :param url: the run's page.
    """
    if not run_id:
        return {}
    from airflow.providers.common.compat.openlineage.facet import ExternalQueryRunFacet

    from airflow_provider_runs.lineage_facet import PRODUCER, RemoteRunFacet

    return {
        EXTERNAL_QUERY_FACET: ExternalQueryRunFacet(
            externalQueryId=run_id, source=service, producer=PRODUCER
        ),
        REMOTE_RUN_FACET: RemoteRunFacet(service=service, runId=run_id, url=url or None),
    }


def operator_lineage(operator: BaseRunOperator) -> OperatorLineage | None:
    """The lineage of a finished run operator (see the module's docstring); never raises.

    ``None`` only when OpenLineage cannot be imported (it is what asks, so it can).

    :param operator: the operator that ran the task (its run id and paths are known by now).
    """
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    try:
        inputs, outputs = operator.lineage_datasets()
        run_id = operator._run_id
        redact: Callable[[str], str] = operator.hook.redactor if (run_id or inputs or outputs) else str
        url = redact(operator.run_url(run_id)) if run_id else None
        return OperatorLineage(
            inputs=datasets(inputs, redact),
            outputs=datasets(outputs, redact),
            run_facets=run_facets(operator.hook_class.service, redact(run_id) if run_id else None, url),
        )
    except Exception as exc:
        log.warning(
            "OpenLineage: no lineage for task %s (%s); the task's outcome is not affected.",
            getattr(operator, "task_id", "?"),
            _safe_reason(operator, exc),
        )
        return OperatorLineage()


def _safe_reason(operator: Any, exc: Exception) -> str:
    """``exc`` as a short text with the connection's key hidden; only its type when the key
    cannot be known (the failure may be reading the connection)."""
    try:
        return str(operator.hook.redactor.excerpt(f"{type(exc).__name__}: {exc}", 300))
    except Exception:
        return type(exc).__name__
