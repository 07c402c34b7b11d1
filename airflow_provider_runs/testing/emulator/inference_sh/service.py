"""inference.sh as an emulated service: ``SERVICE`` (named by the descriptor's emulator parts)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from airflow_provider_runs.services import INFERENCE_SH
from airflow_provider_runs.testing.emulator.inference_sh.errors import problem
from airflow_provider_runs.testing.emulator.inference_sh.settings import DEFAULT_KEY, InferenceShSettings
from airflow_provider_runs.testing.emulator.service import (
    EmulatedService,
    FaultAnswer,
    RateLimitPlan,
    ServiceEmulator,
)

if TYPE_CHECKING:
    from fastapi import APIRouter


TIERS: dict[str, dict[str, int | None]] = {
    "documented": {"run": 100, "get": 1000, "upload": 50},  # spec §8.3
    "unlimited": {"run": None, "get": None, "upload": None},
}
"""Rate-limit tiers: ``run`` (``POST /run``, ``/apps/run``), ``get`` (``GET /tasks/{id}``,
``GET /tasks/{id}/status``) and ``upload`` (``POST /files``) requests a minute per key."""
FAULT_CODES = {429: "rate_limited", 500: "internal_error", 503: "app_maintenance"}
"""The problem code of an injected fault, by status (``internal_error`` otherwise)."""


class InferenceShService(EmulatedService):
    """The emulated inference.sh API (``specs/inference_sh.md``)."""

    settings = InferenceShSettings
    rate_limits = RateLimitPlan(TIERS)
    default_key = DEFAULT_KEY
    router = "airflow_provider_runs.testing.emulator.inference_sh.router:build_router"
    openapi = "airflow_provider_runs.testing.emulator.inference_sh.openapi:openapi_paths"

    def api_keys(self, config: Any) -> list[str]:
        """``inference_sh_api_keys``."""
        return list(config.settings_of(self).inference_sh_api_keys)

    def limit_settings(self, config: Any) -> list[dict[str, Any]]:
        """The tier, then the per-bucket overrides."""
        settings = config.settings_of(self)
        overrides = settings.inference_sh_rate_limits
        return [{"tier": settings.inference_sh_rate_limit_tier}] + ([dict(overrides)] if overrides else [])

    def fault_body(self, status: int, message: str) -> FaultAnswer:
        """A problem+json body."""
        body = problem(FAULT_CODES.get(status, "internal_error"), "Injected fault", status, message)
        return FaultAnswer(json.dumps(body).encode(), "application/problem+json")

    def control_router(self, emulator: ServiceEmulator) -> APIRouter:
        """``GET /_emulator/tasks``: every task as the emulator sees it (deleted ones too)."""
        from airflow_provider_runs.testing.emulator.inference_sh.control import build_control_router

        return build_control_router(emulator)

    def add_cli_options(self, group: argparse._ArgumentGroup) -> None:
        """Keys, envelope, status numbering and names, task duration, rate limits."""
        group.add_argument(
            "--inference-sh-key",
            action="append",
            dest="inference_sh_api_keys",
            metavar="KEY",
            help="accepted inference.sh key",
        )
        group.add_argument(
            "--envelope", dest="inference_sh_envelope", choices=["current", "v1", "v2"], default="current"
        )
        group.add_argument(
            "--status-numbering",
            dest="inference_sh_status_numbering",
            choices=["current", "legacy"],
            default="current",
        )
        group.add_argument("--status-names", dest="inference_sh_status_names", action="store_true")
        group.add_argument(
            "--task-duration", dest="default_task_duration", type=float, default=1.0, metavar="SECONDS"
        )
        group.add_argument(
            "--inference-sh-limits",
            dest="inference_sh_rate_limit_tier",
            choices=list(TIERS),
            default="documented",
            help="inference.sh rate limits: the documented ones (spec §8.3) or none",
        )


SERVICE = InferenceShService(INFERENCE_SH)
"""The emulated inference.sh."""
