"""Provider metadata, found by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

import importlib.metadata
from typing import Any

from airflow_provider_runs import __version__
from airflow_provider_runs.services import BUILT_IN


def _modules(role: str) -> list[dict[str, Any]]:
    return [
        {"integration-name": service.display_name, "python-modules": list(getattr(service, role))}
        for service in BUILT_IN
    ]


def _documentation_url() -> str | None:
    """The ``Documentation`` entry of the installed distribution's ``[project.urls]``, if any."""
    try:
        urls: list[str] = importlib.metadata.metadata("airflow-provider-runs").get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:  # imported from a source tree, not installed
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation":
            return url.strip()
    return None


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata (connection types with form fields, links, triggers, config)."""
    return {
        "package-name": "airflow-provider-runs",
        "name": "Runs (Inferable, Edges, inference.sh)",
        "description": "Start and follow remote runs on Inferable, Edges and inference.sh from Airflow.",
        "versions": [__version__],
        "documentation-url": _documentation_url(),
        "integrations": [
            {
                "integration-name": service.display_name,
                "external-doc-url": service.docs_url,
                "tags": ["service"],
            }
            for service in BUILT_IN
        ],
        "hooks": [
            {"integration-name": service.display_name, "python-modules": [service.hook_module]}
            for service in BUILT_IN
        ],
        "operators": _modules("operators"),
        "sensors": _modules("sensors"),
        "triggers": _modules("triggers"),
        "connection-types": [service.connection_type() for service in BUILT_IN],
        "extra-links": ["airflow_provider_runs.links.RunLink"],
        "config": {
            "runs": {
                "description": "Settings of airflow-provider-runs.",
                "options": {
                    "default_poll_interval": {
                        "description": "Seconds between two status polls when an operator or sensor "
                        "does not set poll_interval.",
                        "version_added": "0.1.0",
                        "type": "float",
                        "example": "10",
                        "default": "5",
                    },
                },
            },
        },
    }
