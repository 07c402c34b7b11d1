"""The inference.sh settings of the emulator (fields of ``EmulatorConfig``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DEFAULT_KEY = "inf_test_key"
"""The API key a default emulator accepts."""


@dataclass
class InferenceShSettings:
    """How the emulated inference.sh behaves.

    :param inference_sh_api_keys: keys accepted by the inference.sh router.
    :param inference_sh_envelope: response envelope: ``current`` (``{data, messages}``), ``v1``
        (``{success, status, data}``) or ``v2`` (bare DTO, problem+json errors). A request with
        ``X-API-Version: 2`` is always answered in the v2 form.
    :param inference_sh_status_numbering: ``current`` (10 completed) or ``legacy`` (9 completed).
    :param inference_sh_status_names: send lowercase status names instead of integer codes.
    :param default_task_duration: seconds an inference.sh task takes when its app or scenario
        gives no duration.
    :param stream_heartbeat_seconds: heartbeat interval of streams.
    :param session_idle_timeout: default idle timeout of inference.sh sessions, seconds.
    :param max_wait_seconds: how long ``wait=true`` blocks before returning the current task.
    :param inference_sh_rate_limit_tier: ``documented`` (default: spec §8.3, run task 100/min, get
        task 1000/min, upload 50/min per key) or ``unlimited``.
    :param inference_sh_rate_limits: per-bucket overrides (``run``, ``get``, ``upload``; ``None``
        is unlimited).
    """

    inference_sh_api_keys: list[str] = field(default_factory=lambda: [DEFAULT_KEY])
    inference_sh_envelope: Literal["current", "v1", "v2"] = "current"
    inference_sh_status_numbering: Literal["current", "legacy"] = "current"
    inference_sh_status_names: bool = False
    default_task_duration: float = 1.0
    stream_heartbeat_seconds: float = 10.0
    session_idle_timeout: float = 60.0
    max_wait_seconds: float = 3.0
    inference_sh_rate_limit_tier: str = "documented"
    inference_sh_rate_limits: dict[str, int | None] | None = None
