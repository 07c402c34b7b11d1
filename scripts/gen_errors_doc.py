"""Write ``docs/errors.md`` from the bad-input catalogue (``tests/catalogue/cases.py``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".demo" / "errors-doc-home"))

from catalogue.cases import CASES, connection_env, emulator_config, render_markdown, run_case  # noqa: E402

from airflow_provider_runs.testing.emulator import EmulatorServer  # noqa: E402


def main() -> None:
    with EmulatorServer(emulator_config()) as server:
        os.environ.update(connection_env(server))
        results = []
        for case in CASES:
            server.control.reset()
            results.append((case, *run_case(case, server)))
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "errors.md").write_text(render_markdown(results))
    print(f"docs/errors.md: {len(results)} cases")


if __name__ == "__main__":
    main()
