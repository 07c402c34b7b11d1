"""Provider metadata, found by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_runs.services import BUILT_IN


def _modules(role: str) -> list[dict[str, Any]]:
    return [
        {"integration-name": service.display_name, "python-modules": list(getattr(service, role))}
        for service in BUILT_IN
    ]


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata (connection types with form fields, links, triggers, config)."""
    return {
        "package-name": "airflow-provider-runs",
        "name": "Runs (Inferable, Edges, inference.sh)",
        "description": "Start and follow remote runs on Inferable, Edges and inference.sh from Airflow.",
        "versions": ["0.1.0"],
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
        "triggers": [
            {
                "integration-name": service.display_name,
                "python-modules": ["airflow_provider_runs.triggers.run_status"],
            }
            for service in BUILT_IN
        ],
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
