"""Fuzz the emulator through its OpenAPI description (schemathesis): bad input never gets a 500.

Every operation gets valid and invalid (schema-breaking) requests, with each service's own
authentication; the only check is that no answer is a server error, so the emulator's own
validation covers whatever a client may send. Bounded by ``FUZZ_EXAMPLES`` per operation.
"""

from __future__ import annotations

import os

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

from airflow_provider_runs.testing.emulator.app import create_app  # noqa: E402
from airflow_provider_runs.testing.emulator.config import EmulatorConfig  # noqa: E402
from airflow_provider_runs.testing.emulator.connections import DEFAULT_KEYS  # noqa: E402

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
HEADERS = {
    "/inference-sh": {"Authorization": f"Bearer {DEFAULT_KEYS['inference_sh']}"},
    "/inferable": {"Authorization": f"Bearer {DEFAULT_KEYS['inferable']}"},
    "/edges": {"X-API-Key": DEFAULT_KEYS["edges"]},
}

# Unmetered: a 429 past the budget would cut the fuzz short of the validation it is here to hit.
APP = create_app(EmulatorConfig(edges_rate_limit_tier="unlimited", inference_sh_rate_limit_tier="unlimited"))
config = SchemathesisConfig()
config.projects.default.generation.update(modes=["positive", "negative"])
schema = schemathesis.openapi.from_asgi("/_emulator/openapi.json", APP, config=config)


def _auth(path: str) -> dict[str, str]:
    return next(headers for prefix, headers in HEADERS.items() if path.startswith(prefix))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_emulator_never_answers_500(case):
    response = case.call(headers=_auth(case.path))
    case.validate_response(response, checks=[not_a_server_error])
