"""The example DAGs the end-to-end suite triggers (``example_dags/``), for its fixtures and tests."""

from __future__ import annotations

EXAMPLE_DAG_IDS = (
    "example_inference_sh_session",
    "example_inference_sh_batch",
    "example_inferable_daily_report",
    "example_inferable_approval",
    "example_edges_nightly_enrichment",
    "example_edges_live_and_schedule",
    "example_edges_rerun_failed",
    "example_edges_schedule_retire",
    "example_day_two",
)
"""Every example DAG, triggered together by the ``example_runs`` fixture."""

APPROVAL_DAG = "example_inferable_approval"
"""The example whose approval request the suite answers through the REST API."""

RERUN_DAG = "example_edges_rerun_failed"
"""The example whose first Edges run the suite scripts to lose ``RERUN_FAIL_SHARE`` of its inputs."""

RERUN_FAIL_SHARE = 0.03
