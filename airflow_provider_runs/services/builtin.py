"""The descriptors of the three built-in services."""

from __future__ import annotations

from airflow_provider_runs.services.descriptor import EmulatorParts, ServiceDescriptor

_EMULATOR = "airflow_provider_runs.testing.emulator"

INFERENCE_SH = ServiceDescriptor(
    name="inference_sh",
    display_name="inference.sh",
    conn_type="inference_sh",
    hook="airflow_provider_runs.hooks.inference_sh:InferenceShHook",
    operators=(
        "airflow_provider_runs.operators.inference_sh",
        "airflow_provider_runs.operators.inference_sh_actions",
        "airflow_provider_runs.operators.inference_sh_listing",
    ),
    sensors=("airflow_provider_runs.sensors.inference_sh",),
    default_base_url="https://api.inference.sh",
    docs_url="https://inference.sh/docs/api/rest/tasks",
    console_url="https://app.inference.sh",
    conn_fields={
        "status_numbering": {
            "label": "Status numbering",
            "schema": {"type": ["string", "null"], "enum": ["auto", "legacy", "current", None]},
            "description": "How to read integer status codes: auto (safe under both numberings), "
            "legacy (9 = completed) or current (10 = completed). Status names always win.",
        },
    },
    relabeling={"host": "API base URL", "password": "API key"},
    placeholders={"host": "https://api.inference.sh", "password": "inf_..."},
    # inference.sh documents get-task 1000/min (what polls spend) and run-task 100/min (creates,
    # one per task; a 429 there is honoured through its Retry-After) (specs/inference_sh.md 8.3).
    requests_per_minute=1000.0,
    emulator=EmulatorParts(prefix="/inference-sh", service=f"{_EMULATOR}.inference_sh.service:SERVICE"),
)

INFERABLE = ServiceDescriptor(
    name="inferable",
    display_name="Inferable",
    conn_type="inferable",
    hook="airflow_provider_runs.hooks.inferable:InferableHook",
    operators=(
        "airflow_provider_runs.operators.inferable",
        "airflow_provider_runs.operators.inferable_actions",
        "airflow_provider_runs.operators.inferable_message",
        "airflow_provider_runs.operators.inferable_listing",
    ),
    sensors=("airflow_provider_runs.sensors.inferable",),
    default_base_url="https://api.inferable.ai",
    docs_url="https://docs.inferable.ai/pages/invoking-a-run-api",
    console_url="https://app.inferable.ai",
    conn_fields={
        "cluster_id": {
            "label": "Cluster ID",
            "schema": {"type": ["string", "null"]},
            "description": "The Inferable cluster the API key belongs to.",
        },
    },
    relabeling={"host": "API base URL", "password": "Cluster API key"},
    placeholders={"host": "https://api.inferable.ai", "password": "sk_..."},
    # Inferable documents no rate limit and sends no rate-limit headers (specs/inferable.md 7).
    requests_per_minute=0.0,
    emulator=EmulatorParts(prefix="/inferable", service=f"{_EMULATOR}.inferable_api.service:SERVICE"),
)

EDGES = ServiceDescriptor(
    name="edges",
    display_name="Edges",
    conn_type="edges",
    hook="airflow_provider_runs.hooks.edges:EdgesHook",
    operators=(
        "airflow_provider_runs.operators.edges",
        "airflow_provider_runs.operators.edges_rerun",
        "airflow_provider_runs.operators.edges_schedules",
        "airflow_provider_runs.operators.edges_run_actions",
        "airflow_provider_runs.operators.edges_listing",
    ),
    sensors=("airflow_provider_runs.sensors.edges", "airflow_provider_runs.sensors.edges_schedule"),
    triggers=("airflow_provider_runs.triggers.run_status", "airflow_provider_runs.triggers.edges_schedule"),
    default_base_url="https://api.edges.run/v1",
    docs_url="https://docs.edges.run/v1/api/introduction",
    console_url="https://app.edges.run",
    conn_fields={
        "identity_mode": {
            "label": "Identity mode",
            "schema": {"type": ["string", "null"], "enum": ["direct", "auto", "managed", None]},
            "description": "Default identity mode of launches: direct, auto or managed.",
        },
        "identity_ids": {
            "label": "Identity IDs",
            "schema": {"type": ["string", "null"]},
            "description": "Comma-separated identity UIDs for the direct identity mode.",
        },
        "callback_url": {
            "label": "Callback URL",
            "schema": {"type": ["string", "null"]},
            "description": "HTTPS URL that receives a final callback for async runs.",
        },
    },
    relabeling={"host": "API base URL", "password": "API key (X-API-Key)"},
    placeholders={"host": "https://api.edges.run/v1"},
    # Edges meters every /v1/runs/* route together per workspace: Trial 30, Bronze 60, Silver and
    # Gold 150, Platinum 300, Titanium 600 a minute (specs/edges.md 6.3). Silver/Gold: the plans
    # that run batches at scale; a smaller plan's 429s halve the rate within seconds, whereas a
    # default below the plan would never be corrected upwards.
    requests_per_minute=150.0,
    emulator=EmulatorParts(prefix="/edges", service=f"{_EMULATOR}.edges_api.service:SERVICE"),
)
