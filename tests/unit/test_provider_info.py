"""The provider registers through its entry point, with connection types and form fields."""

from __future__ import annotations

import importlib.metadata

import jsonschema
import pytest

from airflow_provider_runs.get_provider_info import get_provider_info

COMMON = {"run_url_template", "requests_per_minute", "proxy", "verify", "ca_bundle", "max_retries"}
COMMON |= {"connect_timeout", "read_timeout", "total_timeout"}
CONNECTION_FIELDS = {
    "inference_sh": {"status_numbering", *COMMON},
    "inferable": {"cluster_id", *COMMON},
    "edges": {"identity_mode", "identity_ids", "callback_url", *COMMON},
}


def test_entry_point_points_at_get_provider_info():
    eps = importlib.metadata.entry_points(group="apache_airflow_provider")
    ours = [ep for ep in eps if ep.value.startswith("airflow_provider_runs.")]
    assert len(ours) == 1 and ours[0].load()() == get_provider_info()


def test_provider_info_matches_airflows_schema():
    import json
    from pathlib import Path

    import airflow

    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    if not schema_path.exists():
        pytest.skip("this Airflow ships no provider_info schema")
    jsonschema.validate(get_provider_info(), json.loads(schema_path.read_text()))


def test_every_class_path_imports():
    from airflow.providers.common.compat.module_loading import import_string

    info = get_provider_info()
    for conn in info["connection-types"]:
        hook = import_string(conn["hook-class-name"])
        assert hook.conn_type == conn["connection-type"]
    for link in info["extra-links"]:
        import_string(link)
    for group in ("hooks", "operators", "sensors", "triggers"):
        for item in info[group]:
            for module in item["python-modules"]:
                importlib.import_module(module)


def test_providers_manager_registers_hooks_and_fields():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-runs" in manager.providers
    hooks = manager.hooks
    for conn_type in CONNECTION_FIELDS:
        assert conn_type in hooks and hooks[conn_type] is not None
    try:
        import wtforms  # noqa: F401
    except ImportError:
        has_wtforms = False
    else:
        has_wtforms = True
    widgets = manager.connection_form_widgets
    declarative = hasattr(manager, "_load_ui_metadata")  # Airflow 3.2+ reads conn-fields
    if not declarative and not has_wtforms:
        pytest.skip("Airflow 3.1 without the UI stack registers no form widgets for any provider")
    for conn_type, fields in CONNECTION_FIELDS.items():
        for field in fields:
            assert f"extra__{conn_type}__{field}" in widgets, (conn_type, field)
        behaviour = manager.field_behaviours[conn_type]
        assert "password" in behaviour["relabeling"] and "host" in behaviour["relabeling"]


def test_config_default_poll_interval(monkeypatch):
    from airflow_provider_runs.operators.base import default_poll_interval

    options = get_provider_info()["config"]["runs"]["options"]
    assert float(options["default_poll_interval"]["default"]) == default_poll_interval() == 5.0
    monkeypatch.setenv("AIRFLOW__RUNS__DEFAULT_POLL_INTERVAL", "7.5")
    assert default_poll_interval() == 7.5


def test_every_hook_has_its_own_31_form_methods():
    """Airflow 3.1 reads the form methods from each hook class's own ``__dict__``."""
    from airflow_provider_runs.hooks.edges import EdgesHook
    from airflow_provider_runs.hooks.inferable import InferableHook
    from airflow_provider_runs.hooks.inference_sh import InferenceShHook

    for hook in (InferenceShHook, InferableHook, EdgesHook):
        assert "get_connection_form_widgets" in hook.__dict__ and "get_ui_field_behaviour" in hook.__dict__
        behaviour = hook.get_ui_field_behaviour()
        assert behaviour["hidden_fields"] and behaviour["relabeling"]["password"]


def test_requests_per_minute_field_names_each_services_default():
    fields = {c["connection-type"]: c["conn-fields"] for c in get_provider_info()["connection-types"]}
    defaults = {"edges": "150 a minute", "inference_sh": "1000 a minute", "inferable": "no limit"}
    for conn_type, shown in defaults.items():
        field = fields[conn_type]["requests_per_minute"]
        assert field["label"] == "Requests per minute"
        assert field["schema"] == {"type": ["number", "null"], "minimum": 0}
        assert f"Empty: {shown}." in field["description"]


def test_requests_per_minute_in_the_airflow_31_form():
    pytest.importorskip("wtforms")
    from airflow_provider_runs.hooks.edges import EdgesHook

    widgets = EdgesHook.get_connection_form_widgets()
    assert "requests_per_minute" in widgets
