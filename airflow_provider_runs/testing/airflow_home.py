"""A throw-away ``AIRFLOW_HOME`` for a test session, and its metadata database.

Airflow reads ``AIRFLOW_HOME`` (and its ``airflow.cfg`` and SQLite database) once, when it is
first imported; the pytest plugin therefore calls :func:`prepare_airflow_home` before any
``conftest.py`` or test module is imported, and :func:`migrate_db` once a test needs the database.
Nothing here imports Airflow at module level.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

MODES = ("auto", "isolated", "keep")
"""``auto``: a throw-away home unless ``AIRFLOW_HOME`` is set; ``isolated``: always one; ``keep``:
never touch the environment (Airflow's own defaults, ``~/airflow`` when nothing is set)."""

THROWAWAY_ENV = {"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
"""Set (unless already set) alongside a throw-away home: no bundled example DAGs."""


@dataclass
class AirflowHome:
    """The ``AIRFLOW_HOME`` a test session uses.

    :param path: the directory (``None`` when Airflow's default applies: nothing set, ``keep``).
    :param throwaway: whether it was created for this session (and is removed at its end).
    :param problem: why a throw-away home was wanted but not set up (Airflow imported too early).
    """

    path: Path | None
    throwaway: bool = False
    problem: str | None = None
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)

    def restore(self) -> None:
        """Put the environment back as it was and remove a throw-away home."""
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        if self.throwaway and self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)


def prepare_airflow_home(mode: str = "auto") -> AirflowHome:
    """Point ``AIRFLOW_HOME`` at a new temporary directory if ``mode`` asks for one.

    Must run before Airflow is imported; when Airflow already is, nothing changes and the returned
    home says why in ``problem``.

    :param mode: one of :data:`MODES`.
    """
    if mode not in MODES:
        raise ValueError(f"runs_airflow_home must be one of {', '.join(MODES)}, not {mode!r}")
    current = os.environ.get("AIRFLOW_HOME")
    if mode == "keep" or (mode == "auto" and current):
        return AirflowHome(Path(current) if current else None)
    if "airflow" in sys.modules:
        return AirflowHome(
            Path(current) if current else None,
            problem=(
                "Airflow was imported before the airflow-provider-runs pytest plugin could set a "
                "throw-away AIRFLOW_HOME (another plugin imports it early); set AIRFLOW_HOME to an "
                "empty directory yourself, or runs_airflow_home = keep to use the current one"
            ),
        )
    path = Path(tempfile.mkdtemp(prefix="runs-airflow-home-"))
    wanted = {"AIRFLOW_HOME": str(path), **{k: os.environ.get(k, v) for k, v in THROWAWAY_ENV.items()}}
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    return AirflowHome(path, throwaway=True, _saved_env=saved)


def migrate_db() -> None:
    """Create or upgrade the metadata database of the current ``AIRFLOW_HOME`` (what
    ``airflow db migrate`` does, in this process: about 2 s on a new SQLite file)."""
    from airflow.utils.db import initdb

    initdb()
