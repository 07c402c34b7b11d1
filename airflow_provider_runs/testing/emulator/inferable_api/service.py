"""Inferable as an emulated service: ``SERVICE`` (named by the descriptor's emulator parts)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from airflow_provider_runs.services import INFERABLE
from airflow_provider_runs.testing.emulator.inferable_api.settings import (
    DEFAULT_CLUSTER,
    DEFAULT_KEY,
    InferableSettings,
)
from airflow_provider_runs.testing.emulator.service import EmulatedService, FaultAnswer


class InferableService(EmulatedService):
    """The emulated Inferable control plane (``specs/inferable.md``); never metered (§7)."""

    settings = InferableSettings
    default_key = DEFAULT_KEY
    router = "airflow_provider_runs.testing.emulator.inferable_api.router:build_router"
    openapi = "airflow_provider_runs.testing.emulator.inferable_api.openapi:openapi_paths"

    def api_keys(self, config: Any) -> list[str]:
        """Every cluster's consumer keys."""
        clusters = config.settings_of(self).inferable_clusters
        return [key for keys in clusters.values() for key in keys]

    def connection_extra(self) -> dict[str, Any]:
        """The default cluster."""
        return {"cluster_id": DEFAULT_CLUSTER}

    def fault_body(self, status: int, message: str) -> FaultAnswer:
        """``{"error": {"message"}}``; a server error says no more than the real one."""
        text = "Internal server error" if status >= 500 else message
        return FaultAnswer(json.dumps({"error": {"message": text}}).encode())

    def add_cli_options(self, group: argparse._ArgumentGroup) -> None:
        """The length of an agent step."""
        group.add_argument(
            "--inferable-step-seconds",
            dest="inferable_step_seconds",
            type=float,
            default=0.2,
            metavar="SECONDS",
            help="each agent step",
        )


SERVICE = InferableService(INFERABLE)
"""The emulated Inferable."""
