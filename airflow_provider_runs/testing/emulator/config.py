"""Emulator settings, chosen at start."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from airflow_provider_runs.testing.emulator.connections import DEFAULT_CLUSTER, DEFAULT_KEYS
from airflow_provider_runs.testing.emulator.edges_api.assumptions import CALLBACK_REQUIRED


@dataclass
class EmulatorConfig:
    """How the emulator behaves.

    :param inference_sh_api_keys: keys accepted by the inference.sh router.
    :param inference_sh_envelope: response envelope: ``current`` (``{data, messages}``), ``v1``
        (``{success, status, data}``) or ``v2`` (bare DTO, problem+json errors). A request with
        ``X-API-Version: 2`` is always answered in the v2 form.
    :param inference_sh_status_numbering: ``current`` (10 completed) or ``legacy`` (9 completed).
    :param inference_sh_status_names: send lowercase status names instead of integer codes.
    :param time_scale: emulator seconds per real second (durations elapse this much faster).
    :param default_task_duration: seconds an inference.sh task takes when its app or scenario
        gives no duration.
    :param stream_heartbeat_seconds: heartbeat interval of streams.
    :param session_idle_timeout: default idle timeout of inference.sh sessions, seconds.
    :param max_wait_seconds: how long ``wait=true`` blocks before returning the current task.
    :param seed: seed of the fault-injection randomness.
    :param inferable_clusters: Inferable cluster ids and the consumer keys of each.
    :param inferable_machine_keys: machine keys (``sk_machine...``), valid in the first cluster.
    :param inferable_enforce_key_kinds: refuse run creation with a machine key (the old hosted
        behaviour of earlier docs, spec §9); default ``False``: any valid key creates, as the
        current server does (spec §1.1).
    :param inferable_step_seconds: emulator seconds each agent step lasts.
    :param edges_api_keys: keys accepted by the Edges router (``X-API-Key``).
    :param edges_strict_callback: answer 400 ``BAD_PARAMETERS`` when an async or schedule launch
        has no callback (default, spec §2.2 and §8 #2: documented as required); ``False``
        accepts one without, as the vendor's SDK examples assume.
    :param edges_launch_status_code: status code of async/schedule launches (200 or 201).
    :param edges_input_seconds: emulator seconds an async run spends per input.
    :param edges_rate_limit_tier: the Edges plan tier whose per-workspace budgets are metered
        (spec §6.3; per API key): ``trial``, ``bronze``, ``silver``, ``gold``, ``platinum``,
        ``diamond``, ``titanium`` (default: the highest documented, 600 ``/runs/*`` requests and
        1 200 live actions a minute) or ``unlimited``. See :mod:`.ratelimit`.
    :param edges_rate_limit_per_minute: overrides the tier's ``/runs/*`` budget (requests a minute).
    :param inference_sh_rate_limit_tier: ``documented`` (default: spec §8.3, run task 100/min, get
        task 1000/min, upload 50/min per key) or ``unlimited``.
    :param inference_sh_rate_limits: per-bucket overrides (``run``, ``get``, ``upload``; ``None``
        is unlimited).
    """

    inference_sh_api_keys: list[str] = field(default_factory=lambda: ["inf_test_key"])
    inference_sh_envelope: Literal["current", "v1", "v2"] = "current"
    inference_sh_status_numbering: Literal["current", "legacy"] = "current"
    inference_sh_status_names: bool = False
    time_scale: float = 1.0
    default_task_duration: float = 1.0
    stream_heartbeat_seconds: float = 10.0
    session_idle_timeout: float = 60.0
    max_wait_seconds: float = 3.0
    seed: int | None = None
    inferable_clusters: dict[str, list[str]] = field(
        default_factory=lambda: {DEFAULT_CLUSTER: [DEFAULT_KEYS["inferable"]]}
    )
    inferable_machine_keys: list[str] = field(
        default_factory=lambda: ["sk_machine_emulator_key_000000000000000000000"]
    )
    inferable_enforce_key_kinds: bool = False
    inferable_step_seconds: float = 0.2
    edges_api_keys: list[str] = field(default_factory=lambda: [DEFAULT_KEYS["edges"]])
    edges_strict_callback: bool = CALLBACK_REQUIRED
    edges_launch_status_code: int = 200
    edges_input_seconds: float = 0.001
    edges_rate_limit_tier: str = "titanium"
    edges_rate_limit_per_minute: int | None = None
    inference_sh_rate_limit_tier: str = "documented"
    inference_sh_rate_limits: dict[str, int | None] | None = None
