"""Example inference.sh apps and the registry to add more."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

AppFunction = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
"""``(input, context) -> output``; ``context`` has ``session`` (a dict kept per session) and
``files`` (a callable ``(filename, bytes, content_type) -> file object``)."""


@dataclass
class AppSpec:
    """An emulated app.

    :param namespace: e.g. ``acme``.
    :param name: e.g. ``echo``.
    :param version: the short version id.
    :param input_schema: JSON schema the input must match (422 otherwise).
    :param functions: callables by function name (``run`` is the default).
    :param duration: seconds a task takes by default (``None``: the emulator's default).
    """

    namespace: str
    name: str
    version: str
    input_schema: dict[str, Any]
    functions: dict[str, AppFunction] = field(default_factory=dict)
    duration: float | None = None

    @property
    def ref(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    @property
    def app_id(self) -> str:
        """A stable opaque app id."""
        return f"app_{self.namespace}_{self.name}"

    @property
    def version_id(self) -> str:
        """A stable opaque version id."""
        return f"ver_{self.namespace}_{self.name}_{self.version}"


APPS: dict[str, dict[str, AppSpec]] = {}
"""``{"namespace/name": {"version": AppSpec}}``; the last registered version is the latest."""


def register_app(spec: AppSpec) -> AppSpec:
    """Add (or replace) an app version in the registry."""
    APPS.setdefault(spec.ref, {})[spec.version] = spec
    return spec


def find_app(ref: str, version: str | None) -> AppSpec | None:
    """Look an app up by ``namespace/name`` and optional version (latest when omitted)."""
    versions = APPS.get(ref)
    if not versions:
        return None
    if version is None:
        return list(versions.values())[-1]
    return versions.get(version)


def find_app_by_id(app_id: str, version_id: str | None) -> AppSpec | None:
    """Look an app up by its ids."""
    for versions in APPS.values():
        for spec in versions.values():
            if spec.app_id == app_id and (version_id is None or spec.version_id == version_id):
                return spec
    return None


def _echo(data: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    return dict(data)


def _counter(data: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    session = ctx["session"]
    session["calls"] = session.get("calls", 0) + 1
    return {"count": session["calls"], "label": data.get("label")}


def _image(data: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    content = f"rendered: {data.get('prompt', '')}\n".encode()
    return {"image": ctx["files"]("out.txt", content, "text/plain")}


TEXT_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
}

register_app(
    AppSpec(
        "acme",
        "echo",
        "v1",
        TEXT_SCHEMA,
        {"run": _echo, "shout": lambda d, c: {"text": str(d["text"]).upper()}},
    )
)
register_app(AppSpec("acme", "slow", "v1", TEXT_SCHEMA, {"run": _echo}, duration=30.0))
register_app(
    AppSpec(
        "acme",
        "image",
        "v1",
        {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]},
        {"run": _image},
    )
)
register_app(
    AppSpec(
        "acme",
        "counter",
        "v1",
        {"type": "object", "properties": {"label": {"type": "string"}}},
        {"run": _counter},
    )
)
