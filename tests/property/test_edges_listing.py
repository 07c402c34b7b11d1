"""Property: the hook's lazy iterator over every page, with random filters and sorts, returns
exactly what the same query gives in plain Python over all of the emulator's runs, in an order
that respects the sort, without duplicates."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_runs.hooks.edges import EdgesHook

KEY = "edges_property_key"
ACTIONS = ["linkedin-extract-people", "linkedin-extract-contact", "linkedin-extract-company"]
FINALS = ["SUCCEEDED", "FAILED", "PARTIAL_SUCCEEDED", "INVALID"]
URLS = {
    "linkedin-extract-people": ("linkedin_profile_url", "https://www.linkedin.com/in/p{}"),
    "linkedin-extract-contact": ("linkedin_profile_url", "https://www.linkedin.com/in/c{}"),
    "linkedin-extract-company": ("linkedin_company_url", "https://www.linkedin.com/company/x{}"),
}


@pytest.fixture(scope="module")
def runs(emulator_factory):
    server = emulator_factory(edges_api_keys=[KEY], edges_input_seconds=0.001)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_EDGES_DEFAULT", server.connection("edges"))
        hook = EdgesHook()
        for i in range(27):
            action = ACTIONS[i % 3]
            key, url = URLS[action]
            final = FINALS[i % 4]
            scenario = {"final_status": final} if final != "PARTIAL_SUCCEEDED" else {"fail_inputs": [0]}
            hook.run_async(action, [{key: url.format(i)}, {key: url.format(i + 100)}],
                           parameters={"_emulator": scenario})  # fmt: skip
            time.sleep(0.005)
        deadline = time.time() + 20
        while time.time() < deadline:
            everything = list(hook.iter_runs(page_size=100))
            if all(r["status"] in FINALS for r in everything):
                break
            time.sleep(0.1)
        yield hook, everything


filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.lists(st.sampled_from([*FINALS, "RUNNING"]), min_size=1, max_size=3, unique=True),
        "action_name": st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2, unique=True),
        "execution_mode": st.lists(st.sampled_from(["ASYNC", "LIVE"]), min_size=1, max_size=2, unique=True),
    },
)
sorts = st.lists(
    st.tuples(st.sampled_from(["created_at", "updated_at", "status"]), st.booleans()),
    max_size=2,
    unique_by=lambda x: x[0],
).map(lambda items: [("-" if desc else "") + name for name, desc in items])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flt=filters, sort=sorts, page_size=st.integers(1, 100))
def test_iterator_matches_plain_python(runs, flt, sort, page_size):
    hook, everything = runs
    got = list(hook.iter_runs(filters=flt or None, sort=sort or None, page_size=page_size))
    expected = [r for r in everything if all(r[k] in v for k, v in flt.items())]
    assert sorted(r["uid"] for r in got) == sorted(r["uid"] for r in expected)
    assert len({r["uid"] for r in got}) == len(got)  # no run twice across pages
    keys = [(s.lstrip("-"), s.startswith("-")) for s in sort]
    for earlier, later in itertools.pairwise(got):
        for field, desc in keys:
            a, b = earlier[field], later[field]
            if a == b:
                continue
            assert (a > b) if desc else (a < b), (field, a, b)
            break
