"""The Airflow UI in a real browser: the provider's connection forms and the "Run" extra link.

Screenshots land in ``<output>/screenshots/``.
"""

from __future__ import annotations

import browser
import pytest
from stack import USERNAME, AirflowStack

from airflow_provider_runs.services import BUILT_IN

CONNECTION_TYPES = {service.conn_type: service for service in BUILT_IN}

pytestmark = pytest.mark.timeout(600)


def _labels(conn_type: str) -> tuple[list[str], list[str]]:
    """What the form must show for ``conn_type``: standard-field labels and extra-field labels."""
    service = CONNECTION_TYPES[conn_type]
    relabeled = list(service.relabeling.values())
    extras = [field["label"] for field in service.all_conn_fields().values()]
    return relabeled, extras


HIDDEN_LABELS = ["Login", "Port", "Schema"]


@pytest.fixture(scope="module")
def page(stack: AirflowStack):
    """A logged-in browser page."""
    with browser.browser_page() as page:
        browser.log_in(page, stack.api_url, USERNAME, stack.password)
        yield page


@pytest.mark.parametrize("conn_type", sorted(CONNECTION_TYPES))
def test_connection_form_shows_its_own_fields(stack, page, output_dir, conn_type):
    hook_name = CONNECTION_TYPES[conn_type].display_name
    standard, extras = _labels(conn_type)
    browser.open_connection_form(page, stack.api_url, hook_name)

    browser.open_section(page, "Standard Fields")
    browser.screenshot(page, output_dir / "screenshots" / f"connection-{conn_type}-standard.png")
    browser.assert_form_fields(page, standard, absent=HIDDEN_LABELS)

    browser.open_section(page, "Extra Fields")
    browser.screenshot(page, output_dir / "screenshots" / f"connection-{conn_type}-extra.png")
    browser.assert_form_fields(page, extras, absent=[])
    others = [label for other in CONNECTION_TYPES if other != conn_type for label in _labels(other)[1]]
    browser.assert_form_fields(page, [], absent=[label for label in others if label not in extras])


def test_the_form_check_fails_on_a_missing_field(stack, page):
    """The check above can fail: a field the form does not have is reported."""
    browser.open_connection_form(page, stack.api_url, CONNECTION_TYPES["edges"].display_name)
    browser.open_section(page, "Extra Fields")
    with pytest.raises(AssertionError, match="lacks \\['Cluster ID'\\]"):
        browser.assert_form_fields(page, ["Identity mode", "Cluster ID"], absent=[])


@pytest.mark.parametrize(
    ("dag_id", "task_id"),
    [
        ("example_inference_sh_session", "open_session"),
        ("example_inferable_daily_report", "count_tickets"),
        ("example_edges_nightly_enrichment", "enrich_profiles"),
    ],
)
def test_finished_task_shows_the_run_link(stack, page, output_dir, example_runs, dag_id, task_id):
    run_id = example_runs["run_ids"][dag_id]
    expected = stack.xcom(dag_id, run_id, task_id, key="run_url")
    browser.open_task_instance(page, stack.api_url, dag_id, run_id, task_id)
    href = browser.extra_link_href(page, "Run")
    browser.screenshot(page, output_dir / "screenshots" / f"extra-link-{dag_id}.{task_id}.png")
    assert href == expected, (href, expected)
    assert expected.startswith(stack.emulator_url)
    # Clicked, the link opens the run's page in the (emulated) web app, not the API's 401.
    remote_run_id = expected.rstrip("/").rsplit("/", 1)[-1]
    opened = browser.open_extra_link(page, "Run")
    try:
        browser.screenshot(opened, output_dir / "screenshots" / f"run-page-{dag_id}.{task_id}.png")
        assert opened.url == expected, (opened.url, expected)
        assert remote_run_id in opened.title(), opened.title()
        assert "airflow-provider-runs emulator" in opened.content()  # the stand-in page, not JSON
    finally:
        if opened is not page:
            opened.close()


def test_the_link_check_fails_when_a_task_has_no_link(stack, page, example_runs):
    """A task without a run (a plain @task) shows no "Run" link, and the check says so."""
    dag_id = "example_inference_sh_session"
    browser.open_task_instance(page, stack.api_url, dag_id, example_runs["run_ids"][dag_id], "report")
    with pytest.raises(AssertionError):
        browser.extra_link_href(page, "Run", timeout_ms=3000)
