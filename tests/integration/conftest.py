"""Integration fixtures: real HTTP to the emulator, connections through env vars."""

from __future__ import annotations

import pytest

from emulation import started_emulator
from support import EDGES_KEY, TEST_KEY


@pytest.fixture(scope="session")
def inference_sh_server():
    """One emulator for the session, current envelope and numbering, accepting ``TEST_KEY``."""
    with started_emulator(inference_sh_api_keys=[TEST_KEY], default_task_duration=0.3) as server:
        yield server


@pytest.fixture
def emulator(inference_sh_server, monkeypatch):
    """The session emulator, reset, with ``inference_sh_default`` (and ``_wrong_key``, ``_legacy``)
    pointing at it."""
    yield from inference_sh_server.fresh(
        monkeypatch,
        inference_sh_default=inference_sh_server.connection("inference_sh"),
        inference_sh_wrong_key=inference_sh_server.connection("inference_sh", "inf_wrong_key_0000"),
        inference_sh_legacy=inference_sh_server.connection("inference_sh", status_numbering="legacy"),
    )


@pytest.fixture(scope="module")
def edges_server(emulator_factory):
    """An Edges emulator for the test module, accepting ``EDGES_KEY``, 10 ms of work per input."""
    return emulator_factory(edges_api_keys=[EDGES_KEY], edges_input_seconds=0.01)


@pytest.fixture
def edges_emulator(edges_server, monkeypatch):
    """The module's Edges emulator, reset, with ``edges_default`` (managed identities) pointing at it."""
    yield from edges_server.fresh(
        monkeypatch, edges_default=edges_server.connection("edges", identity_mode="managed")
    )
