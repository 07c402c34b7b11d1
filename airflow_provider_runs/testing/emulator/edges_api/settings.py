"""The Edges settings of the emulator (fields of ``EmulatorConfig``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_provider_runs.testing.emulator.edges_api.assumptions import CALLBACK_REQUIRED

DEFAULT_KEY = "edges_emulator_key"
"""The API key a default emulator accepts."""
TIERS: dict[str, dict[str, int | None]] = {
    # tier: {"runs": /runs/* req/min, "live": live actions req/min} (spec §6.3)
    "trial": {"runs": 30, "live": 60},
    "bronze": {"runs": 60, "live": 120},
    "silver": {"runs": 150, "live": 600},
    "gold": {"runs": 150, "live": 600},
    "platinum": {"runs": 300, "live": 1200},
    "diamond": {"runs": 300, "live": 1200},
    "titanium": {"runs": 600, "live": 1200},
    "unlimited": {"runs": None, "live": None},
}
"""Plan tiers (spec §6.3): bucket ``runs`` (every ``/v1/runs`` route shares one per-minute budget)
and, separately, ``live`` (``/v1/actions/{slug}/run/live``). Async and schedule launches are
neither: not metered."""
ALIASES = {"requests_per_minute": "runs", "live_requests_per_minute": "live"}
"""Other names of the buckets in ``POST /_emulator/limits``."""


@dataclass
class EdgesSettings:
    """How the emulated Edges behaves.

    :param edges_api_keys: keys accepted by the Edges router (``X-API-Key``).
    :param edges_strict_callback: answer 400 ``BAD_PARAMETERS`` when an async or schedule launch
        has no callback (default, spec §2.2 and §8 #2: documented as required); ``False``
        accepts one without, as the vendor's SDK examples assume.
    :param edges_launch_status_code: status code of async/schedule launches (200 or 201).
    :param edges_input_seconds: emulator seconds an async run spends per input.
    :param edges_rate_limit_tier: the Edges plan tier whose per-workspace budgets are metered
        (spec §6.3; per API key): ``trial``, ``bronze``, ``silver``, ``gold``, ``platinum``,
        ``diamond``, ``titanium`` (default: the highest documented, 600 ``/runs/*`` requests and
        1 200 live actions a minute) or ``unlimited``. See :mod:`..ratelimit`.
    :param edges_rate_limit_per_minute: overrides the tier's ``/runs/*`` budget (requests a minute).
    """

    edges_api_keys: list[str] = field(default_factory=lambda: [DEFAULT_KEY])
    edges_strict_callback: bool = CALLBACK_REQUIRED
    edges_launch_status_code: int = 200
    edges_input_seconds: float = 0.001
    edges_rate_limit_tier: str = "titanium"
    edges_rate_limit_per_minute: int | None = None
