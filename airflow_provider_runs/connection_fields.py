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
