"""Shared test setup: an isolated AIRFLOW_HOME with no examples and no DB requirement."""

from __future__ import annotations

import os
import tempfile

_home = tempfile.mkdtemp(prefix="runs-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
