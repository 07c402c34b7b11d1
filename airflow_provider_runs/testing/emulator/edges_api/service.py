"""Edges as an emulated service: ``SERVICE`` (named by the descriptor's emulator parts)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from airflow_provider_runs.services import EDGES
from airflow_provider_runs.testing.emulator.edges_api.settings import (
    ALIASES,
    DEFAULT_KEY,
    TIERS,
    EdgesSettings,
)
from airflow_provider_runs.testing.emulator.service import (
    EmulatedService,
    FaultAnswer,
    RateLimitPlan,
)

CONNECTION_BUDGET = TIERS["titanium"]["runs"]
"""The ``/v1/runs/*`` budget of the emulator's default plan (Titanium, 600/min): the default
connection says so, as a user's connection states their plan's budget."""


class EdgesService(EmulatedService):
    """The emulated Edges API (``specs/edges.md``)."""

    settings = EdgesSettings
    rate_limits = RateLimitPlan(TIERS, ALIASES)
    default_key = DEFAULT_KEY
    router = "airflow_provider_runs.testing.emulator.edges_api.router:build_router"
    openapi = "airflow_provider_runs.testing.emulator.edges_api.openapi:openapi_paths"

    def api_keys(self, config: Any) -> list[str]:
        """``edges_api_keys``."""
        return list(config.settings_of(self).edges_api_keys)

    def connection_extra(self) -> dict[str, Any]:
        """Managed identities and the default plan's budget."""
        return {"identity_mode": "managed", "requests_per_minute": CONNECTION_BUDGET}

    def limit_settings(self, config: Any) -> list[dict[str, Any]]:
        """The tier, then the ``/runs/*`` override."""
        settings = config.settings_of(self)
        per_minute = settings.edges_rate_limit_per_minute
        tier = [{"tier": settings.edges_rate_limit_tier}]
        return tier + ([{"requests_per_minute": per_minute}] if per_minute is not None else [])

    def fault_body(self, status: int, message: str) -> FaultAnswer:
        """The standard Edges error body."""
        body: dict[str, Any] = {
            "error_label": "STATUS_429" if status == 429 else "GENERIC_ERROR",
            "error_scope": "server",
            "message": message,
            "status_code": status,
            "params": {},
        }
        return FaultAnswer(json.dumps(body).encode())

    def add_cli_options(self, group: argparse._ArgumentGroup) -> None:
        """The plan tier and the ``/runs/*`` budget."""
        group.add_argument(
            "--edges-tier",
            dest="edges_rate_limit_tier",
            choices=list(TIERS),
            default="titanium",
            help="Edges plan tier whose per-minute budgets are metered (spec §6.3)",
        )
        group.add_argument(
            "--edges-runs-per-minute",
            dest="edges_rate_limit_per_minute",
            type=int,
            default=None,
            metavar="N",
            help="override the tier's /runs/* budget",
        )


SERVICE = EdgesService(EDGES)
"""The emulated Edges."""
