"""Emulator settings, chosen at start: :class:`EmulatorConfig`.

``EmulatorConfig`` is a dataclass made of :class:`CommonSettings` plus the settings dataclass of
each built-in service (``EmulatedService.settings``), so each service declares its own fields
(``inference_sh_api_keys``, ``edges_rate_limit_tier``, ...) and every one is a keyword argument::

    EmulatorConfig(time_scale=10, edges_api_keys=["k"], inference_sh_envelope="v2")

Any other (registered) service keeps its settings in ``service_settings[name]``: an instance of
its settings class, with the defaults when absent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_runs.services import BUILT_IN
from airflow_provider_runs.testing.emulator.service import EmulatedService, service_of


@dataclass
class CommonSettings:
    """Settings of the emulator itself.

    :param time_scale: emulator seconds per real second (durations elapse this much faster).
    :param seed: seed of the randomness (fault injection, scenario shares).
    :param service_settings: settings instances of services other than the built-in ones, by
        service name.
    """

    time_scale: float = 1.0
    seed: int | None = None
    service_settings: dict[str, Any] = field(default_factory=dict)

    def settings_of(self, service: EmulatedService) -> Any:
        """The settings of ``service``: this config itself when its fields are part of it, else
        its entry in :attr:`service_settings` (created with defaults on first use)."""
        kind = service.settings
        if kind is None or isinstance(self, kind):
            return self
        if service.name not in self.service_settings:
            self.service_settings[service.name] = kind()
        return self.service_settings[service.name]


def _compose() -> type:
    """The config dataclass: the common settings plus every built-in service's settings."""
    slices: list[type] = []
    for service in filter(None, map(service_of, BUILT_IN)):
        if service.settings is not None and service.settings not in slices:
            slices.append(service.settings)
    docs = [CommonSettings.__doc__ or ""] + [(kind.__doc__ or "").split("\n", 1)[-1] for kind in slices]
    composed = dataclasses.make_dataclass(
        "EmulatorConfig",
        [],
        bases=(*reversed(slices), CommonSettings),
        namespace={"__doc__": "\n".join(docs)},
    )
    composed.__module__ = __name__
    return composed


if TYPE_CHECKING:

    class EmulatorConfig(CommonSettings):
        """How the emulator behaves (the common settings plus every service's)."""

        def __init__(self, **settings: Any) -> None: ...

        def __getattr__(self, name: str) -> Any: ...

else:
    EmulatorConfig = _compose()
