"""Provider metadata, found by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_runs.connection_fields import provider_connection_types


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata (connection types with form fields, links, triggers, config)."""
    return {
        "package-name": "airflow-provider-runs",
        "name": "Runs (Inferable, Edges, inference.sh)",
        "description": "Start and follow remote runs on Inferable, Edges and inference.sh from Airflow.",
        "versions": ["0.1.0"],
        "integrations": [
            {
                "integration-name": "inference.sh",
                "external-doc-url": "https://inference.sh/docs/api/rest/tasks",
                "tags": ["service"],
            },
        ],
        "hooks": [
            {
                "integration-name": "inference.sh",
                "python-modules": ["airflow_provider_runs.hooks.inference_sh"],
            },
        ],
        "operators": [
            {
                "integration-name": "inference.sh",
                "python-modules": ["airflow_provider_runs.operators.inference_sh"],
            },
        ],
        "sensors": [
            {
                "integration-name": "inference.sh",
                "python-modules": ["airflow_provider_runs.sensors.inference_sh"],
            },
        ],
        "triggers": [
            {
                "integration-name": "inference.sh",
                "python-modules": ["airflow_provider_runs.triggers.run_status"],
            },
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
