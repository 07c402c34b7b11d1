"""Provider metadata, found by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_runs.connection_fields import provider_connection_types

SERVICES: dict[str, dict[str, str]] = {
    "inference.sh": {"module": "inference_sh", "docs": "https://inference.sh/docs/api/rest/tasks"},
    "Inferable": {"module": "inferable", "docs": "https://docs.inferable.ai/pages/invoking-a-run-api"},
    "Edges": {"module": "edges", "docs": "https://docs.edges.run/v1/api/introduction"},
}


def _modules(role: str) -> list[dict[str, Any]]:
    return [
        {"integration-name": name, "python-modules": [f"airflow_provider_runs.{role}.{service['module']}"]}
        for name, service in SERVICES.items()
    ]


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata (connection types with form fields, links, triggers, config)."""
    return {
        "package-name": "airflow-provider-runs",
        "name": "Runs (Inferable, Edges, inference.sh)",
        "description": "Start and follow remote runs on Inferable, Edges and inference.sh from Airflow.",
        "versions": ["0.1.0"],
        "integrations": [
            {"integration-name": name, "external-doc-url": service["docs"], "tags": ["service"]}
            for name, service in SERVICES.items()
        ],
        "hooks": _modules("hooks"),
        "operators": _modules("operators"),
        "sensors": _modules("sensors"),
        "triggers": [
            {
                "integration-name": name,
                "python-modules": ["airflow_provider_runs.triggers.run_status"],
            }
            for name in SERVICES
        ],
        "connection-types": provider_connection_types(),
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
