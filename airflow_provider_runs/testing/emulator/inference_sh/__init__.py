"""The inference.sh part of the emulator (``specs/inference_sh.md``)."""

from airflow_provider_runs.testing.emulator.inference_sh.apps import AppSpec, register_app
from airflow_provider_runs.testing.emulator.inference_sh.router import build_router

__all__ = ["AppSpec", "build_router", "register_app"]
