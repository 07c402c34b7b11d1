"""The inference.sh part of the emulator (``specs/inference_sh.md``); ``service.SERVICE``."""

from airflow_provider_runs.testing.emulator.inference_sh.apps import AppSpec, register_app

__all__ = ["AppSpec", "register_app"]
