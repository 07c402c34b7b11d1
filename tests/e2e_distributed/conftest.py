"""Fixtures of the distributed end-to-end suite (``make e2e-distributed``): one deployment with
the CeleryExecutor, two Celery workers and two triggerers per session.

Skipped unless asked for, like ``tests/e2e`` (``--e2e`` or ``RUNS_E2E=1``). Each scenario records
its figures in ``RESULTS``; the session writes them to ``.e2e-distributed/results.json`` and prints
them as a table at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))  # tests/e2e/stack.py, the stack this suite extends
sys.path.insert(0, str(HERE / "dags"))  # the scenarios' constants

from distributed_stack import OUTPUT_DIR, DistributedStack  # noqa: E402
from results import RESULTS, summary_lines  # noqa: E402


def _requested(config: pytest.Config) -> bool:
    return bool(config.getoption("--e2e", default=False)) or os.environ.get("RUNS_E2E", "") not in ("", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this suite's tests ``e2e``; skip them unless the session asked for the e2e suites."""
    skip = pytest.mark.skip(reason="distributed end-to-end suite: run with --e2e (make e2e-distributed)")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if not _requested(config):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """A fresh output folder for this run."""
    shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
    OUTPUT_DIR.mkdir(parents=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def stack(output_dir: Path) -> Iterator[DistributedStack]:
    """The whole deployment; stopped even on failure; results written either way."""
    started = time.monotonic()
    deployment = DistributedStack(output_dir)
    try:
        deployment.start()
        deployment.wait_for_workers()
        RESULTS["start_up_seconds"] = round(time.monotonic() - started, 1)
        yield deployment
    finally:
        deployment.stop()
        RESULTS["suite_wall_seconds"] = round(time.monotonic() - started, 1)
        (output_dir / "results.json").write_text(json.dumps(RESULTS, indent=2, default=str))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The scenarios' figures, for the closing note."""
    if not RESULTS:
        return
    terminalreporter.section("distributed end-to-end results")
    for line in summary_lines(RESULTS):
        terminalreporter.write_line(line)
