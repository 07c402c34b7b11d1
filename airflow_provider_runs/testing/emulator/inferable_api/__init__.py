"""The Inferable part of the emulator (``specs/inferable.md``); ``service.SERVICE``."""

from airflow_provider_runs.testing.emulator.inferable_api.settings import DEFAULT_CLUSTER

__all__ = ["DEFAULT_CLUSTER"]
