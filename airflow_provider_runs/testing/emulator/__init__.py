"""A faithful, stateful local emulator of Inferable, Edges and inference.sh.

``python -m airflow_provider_runs.testing.emulator --port N`` serves it; ``EmulatorServer``
runs it in a thread; the pytest fixture ``runs_emulator`` gives each test a reset one.
"""

from airflow_provider_runs.testing.emulator.app import create_app
from airflow_provider_runs.testing.emulator.config import EmulatorConfig
from airflow_provider_runs.testing.emulator.connections import connection_env_for
from airflow_provider_runs.testing.emulator.server import ControlClient, EmulatorServer

__all__ = ["ControlClient", "EmulatorConfig", "EmulatorServer", "connection_env_for", "create_app"]
