"""Apache Airflow 3 provider that starts and follows remote runs.

Services: Inferable agent runs, Edges action runs and inference.sh app tasks. Hooks wrap
authentication and HTTP, operators create runs, the deferrable :class:`RunStatusTrigger` and
the sensors wait for a terminal status and turn it into task success or failure.
"""

from __future__ import annotations

__version__ = "0.1.0"
