"""The Inferable settings of the emulator (fields of ``EmulatorConfig``)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_CLUSTER = "01JEMULATORCLUSTER00000000"
"""The cluster of a default emulator (and of the default connection)."""
DEFAULT_KEY = "sk_inf_emulator_key_0000000000000000000000000000"
"""The consumer key of the default cluster."""
MACHINE_KEY = "sk_machine_emulator_key_000000000000000000000"
"""The machine key of a default emulator."""


@dataclass
class InferableSettings:
    """How the emulated Inferable behaves.

    :param inferable_clusters: Inferable cluster ids and the consumer keys of each.
    :param inferable_machine_keys: machine keys (``sk_machine...``), valid in the first cluster.
    :param inferable_enforce_key_kinds: refuse run creation with a machine key (the old hosted
        behaviour of earlier docs, spec §9); default ``False``: any valid key creates, as the
        current server does (spec §1.1).
    :param inferable_step_seconds: emulator seconds each agent step lasts.
    """

    inferable_clusters: dict[str, list[str]] = field(default_factory=lambda: {DEFAULT_CLUSTER: [DEFAULT_KEY]})
    inferable_machine_keys: list[str] = field(default_factory=lambda: [MACHINE_KEY])
    inferable_enforce_key_kinds: bool = False
    inferable_step_seconds: float = 0.2
