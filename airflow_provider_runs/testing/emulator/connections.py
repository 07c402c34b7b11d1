"""Airflow connections that point the provider at an emulator."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_runs.testing.emulator.ratelimit import EDGES_TIERS

DEFAULT_KEYS = {
    "inference_sh": "inf_test_key",
    "inferable": "sk_inf_emulator_key_0000000000000000000000000000",
    "edges": "edges_emulator_key",
}
PREFIXES = {"inference_sh": "/inference-sh", "inferable": "/inferable", "edges": "/edges/v1"}
EMULATOR_EDGES_BUDGET = EDGES_TIERS["titanium"]["runs"]
"""The ``/v1/runs/*`` budget of the emulator's default Edges plan (Titanium, 600/min): the
connections say so, as a user's connection states their plan's budget."""
DEFAULT_CLUSTER = "01JEMULATORCLUSTER00000000"


def connection_env_for(
    base_url: str, keys: dict[str, str] | None = None, extras: dict[str, Any] | None = None
) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for the three default connections (JSON form).

    :param keys: API keys by service (defaults: :data:`DEFAULT_KEYS`).
    :param extras: extra fields added to every connection (e.g. ``{"total_timeout": 5}``).
    """
    keys = {**DEFAULT_KEYS, **(keys or {})}
    base = base_url.rstrip("/")
    conns = {
        "inference_sh": {"conn_type": "inference_sh", "host": base + PREFIXES["inference_sh"],
                         "password": keys["inference_sh"], "extra": {}},
        "inferable": {"conn_type": "inferable", "host": base + PREFIXES["inferable"],
                      "password": keys["inferable"], "extra": {"cluster_id": DEFAULT_CLUSTER}},
        "edges": {"conn_type": "edges", "host": base + PREFIXES["edges"], "password": keys["edges"],
                  "extra": {"identity_mode": "managed", "requests_per_minute": EMULATOR_EDGES_BUDGET}},
    }  # fmt: skip
    for conn in conns.values():
        conn["extra"].update(extras or {})
    return {f"AIRFLOW_CONN_{name.upper()}_DEFAULT": json.dumps(conn) for name, conn in conns.items()}
