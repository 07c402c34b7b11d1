"""The OpenLineage run facet of a remote run: which service ran it, its id and its page.

Imported only by :func:`airflow_provider_runs.lineage.operator_lineage`, when OpenLineage asks an
operator for its lineage: this module needs ``apache-airflow-providers-openlineage`` (the
OpenLineage client and ``attrs``), which the package does not depend on.
"""

from __future__ import annotations

from airflow.providers.common.compat.openlineage.facet import RunFacet
from attrs import define

from airflow_provider_runs import __version__

PRODUCER = f"https://pypi.org/project/airflow-provider-runs/{__version__}/"
"""The ``_producer`` of the facets this package builds: the distribution and its version."""
SCHEMA_URL = (
    "https://raw.githubusercontent.com/airflow-provider-runs/airflow-provider-runs/main/"
    "airflow_provider_runs/lineage_facet.json#/$defs/RemoteRunFacet"
)
"""The ``_schemaURL`` of :class:`RemoteRunFacet`: the JSON schema shipped beside this module
(``lineage_facet.json``, also in the wheel)."""


@define
class RemoteRunFacet(RunFacet):
    """The remote run a task created (or reattached to) and waited for.

    :param service: the service's name (``inferable``, ``edges``, ``inference_sh``).
    :param runId: the service's id of the run (an Edges batch split into several runs: their
        uids joined by ``,``).
    :param url: the run's page in the service's web app (the task's "Run" link).
    """

    service: str
    runId: str  # camelCase, as OpenLineage facet fields are
    url: str | None = None

    def __attrs_post_init__(self) -> None:
        """Name this package as the producer (unless one was given), then set the schema URL."""
        if not self._producer:
            self._producer = PRODUCER
        super().__attrs_post_init__()

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL
