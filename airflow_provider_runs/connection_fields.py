"""Connection-form definitions, one entry per connection type: the single source of truth.

``get_provider_info`` publishes them declaratively (``conn-fields`` / ``ui-field-behaviour``,
read by Airflow 3.2+ without importing hooks); on Airflow 3.1 the hooks' deprecated
``get_connection_form_widgets`` / ``get_ui_field_behaviour`` are derived from the same data.
"""

from __future__ import annotations

from typing import Any

RUN_URL_FIELD: dict[str, Any] = {
    "label": "Run URL template",
    "schema": {"type": ["string", "null"]},
    "description": "URL shown as the task's extra link, with {run_id}; default: the run's API URL.",
}
"""The extra-link URL override every connection type offers."""

HIDDEN_FIELDS = ["schema", "port", "login", "extra"]
"""Standard connection fields none of the services use."""

DEFAULT_REQUESTS_PER_MINUTE: dict[str, float] = {
    # Edges meters every /v1/runs/* route together per workspace: Trial 30, Bronze 60, Silver and
    # Gold 150, Platinum 300, Titanium 600 a minute (specs/edges.md 6.3). Silver/Gold: the plans
    # that run batches at scale; a smaller plan's 429s halve the rate within seconds, whereas a
    # default below the plan would never be corrected upwards.
    "edges": 150.0,
    # inference.sh documents get-task 1000/min (what polls spend) and run-task 100/min (creates,
    # one per task; a 429 there is honoured through its Retry-After) (specs/inference_sh.md 8.3).
    "inference_sh": 1000.0,
    # Inferable documents no rate limit and sends no rate-limit headers (specs/inferable.md 7).
    "inferable": 0.0,
}
"""The ``requests_per_minute`` of a connection that sets none (0: no limit)."""


def requests_per_minute_field(conn_type: str) -> dict[str, Any]:
    """The request-budget field of a connection type's form."""
    default = DEFAULT_REQUESTS_PER_MINUTE[conn_type]
    shown = f"{default:g} a minute" if default else "no limit"
    return {
        "label": "Requests per minute",
        "schema": {"type": ["number", "null"], "minimum": 0},
        "description": "This connection's request budget in each Airflow process that polls "
        "(triggerer, worker): the plan's budget divided by the number of such processes; 429s "
        f"slow it down further. 0: no limit. Empty: {shown}.",
    }


CONNECTION_TYPES: dict[str, dict[str, Any]] = {
    "inference_sh": {
        "hook-class-name": "airflow_provider_runs.hooks.inference_sh.InferenceShHook",
        "hook-name": "inference.sh",
        "conn-fields": {
            "status_numbering": {
                "label": "Status numbering",
                "schema": {"type": ["string", "null"], "enum": ["auto", "legacy", "current", None]},
                "description": "How to read integer status codes: auto (safe under both numberings), "
                "legacy (9 = completed) or current (10 = completed). Status names always win.",
            },
            "run_url_template": RUN_URL_FIELD,
            "requests_per_minute": requests_per_minute_field("inference_sh"),
        },
        "ui-field-behaviour": {
            "hidden-fields": HIDDEN_FIELDS,
            "relabeling": {"host": "API base URL", "password": "API key"},
            "placeholders": {"host": "https://api.inference.sh", "password": "inf_..."},
        },
    },
    "inferable": {
        "hook-class-name": "airflow_provider_runs.hooks.inferable.InferableHook",
        "hook-name": "Inferable",
        "conn-fields": {
            "cluster_id": {
                "label": "Cluster ID",
                "schema": {"type": ["string", "null"]},
                "description": "The Inferable cluster the API key belongs to.",
            },
            "run_url_template": RUN_URL_FIELD,
            "requests_per_minute": requests_per_minute_field("inferable"),
        },
        "ui-field-behaviour": {
            "hidden-fields": HIDDEN_FIELDS,
            "relabeling": {"host": "API base URL", "password": "Cluster API key"},
            "placeholders": {"host": "https://api.inferable.ai", "password": "sk_..."},
        },
    },
    "edges": {
        "hook-class-name": "airflow_provider_runs.hooks.edges.EdgesHook",
        "hook-name": "Edges",
        "conn-fields": {
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
            "run_url_template": RUN_URL_FIELD,
            "requests_per_minute": requests_per_minute_field("edges"),
        },
        "ui-field-behaviour": {
            "hidden-fields": HIDDEN_FIELDS,
            "relabeling": {"host": "API base URL", "password": "API key (X-API-Key)"},
            "placeholders": {"host": "https://api.edges.run/v1"},
        },
    },
}


def provider_connection_types() -> list[dict[str, Any]]:
    """The ``connection-types`` list of the provider info."""
    return [{"connection-type": name, **definition} for name, definition in CONNECTION_TYPES.items()]


def legacy_form_widgets(conn_type: str) -> dict[str, Any]:
    """Build Airflow 3.1 ``get_connection_form_widgets`` output from the declarative fields."""
    from wtforms import StringField  # type: ignore[import-not-found]

    try:
        from flask_babel import lazy_gettext  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - depends on the installed UI stack

        def lazy_gettext(text: str) -> str:
            return text

    fields = CONNECTION_TYPES[conn_type]["conn-fields"]
    return {
        name: StringField(lazy_gettext(spec["label"]), description=spec.get("description", ""))
        for name, spec in fields.items()
    }


def legacy_field_behaviour(conn_type: str) -> dict[str, Any]:
    """Build Airflow 3.1 ``get_ui_field_behaviour`` output from the declarative behaviour."""
    behaviour = CONNECTION_TYPES[conn_type]["ui-field-behaviour"]
    return {
        "hidden_fields": list(behaviour.get("hidden-fields", [])),
        "relabeling": dict(behaviour.get("relabeling", {})),
        "placeholders": dict(behaviour.get("placeholders", {})),
    }
