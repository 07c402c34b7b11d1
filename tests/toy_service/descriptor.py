"""The toy service's declaration; a test registers it (``airflow_provider_runs.services.register``)
so the generic trigger and the emulator find it, and unregisters it after."""

from __future__ import annotations

from airflow_provider_runs.services import EmulatorParts, ServiceDescriptor

TOY = ServiceDescriptor(
    name="toy_jobs",
    display_name="Toy Jobs",
    conn_type="toy_jobs",
    hook="toy_service.hook:ToyJobsHook",
    operators=("toy_service.operator",),
    sensors=("toy_service.operator",),
    default_base_url="https://api.toy-jobs.invalid",
    docs_url="https://docs.toy-jobs.invalid",
    console_url="https://app.toy-jobs.invalid",
    conn_fields={
        "queue": {
            "label": "Queue",
            "schema": {"type": ["string", "null"]},
            "description": "The queue new jobs go to.",
        }
    },
    relabeling={"host": "API base URL", "password": "Token"},
    requests_per_minute=0.0,
    emulator=EmulatorParts(prefix="/toy-jobs", service="toy_service.emulator:SERVICE"),
)
