"""The claim rule (operators/claims.py): which look-up candidate a task instance may adopt."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_runs.operators.claims import (
    PHASE_CREATE,
    PHASE_LOOKUP,
    Candidate,
    Claim,
    RunOwnershipUnclearError,
    choose_run,
    conflicting_claims,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
ME = ("t", 1)


def claim(map_index, run_id=None, *, phase=PHASE_CREATE, fp="fp", request="req", since=T0, task_id="t"):
    return Claim(task_id, map_index, fp, since.isoformat(), run_id, request, phase)


def cand(run_id, minutes=0):
    return Candidate(run_id, T0 + timedelta(minutes=minutes))


def choose(candidates, claims, me=ME, exclude=()):
    return choose_run(candidates, claims, me=me, fingerprint="fp", request="req", exclude=exclude)


def test_single_unclaimed_candidate_without_contenders_is_adopted():
    assert choose([cand("a")], []) == "a"
    assert choose([cand("a")], [claim(1, phase=PHASE_LOOKUP)]) == "a"  # my own claim is ignored


def test_candidates_claimed_by_others_or_excluded_are_skipped():
    assert choose([cand("a")], [claim(0, "a")]) is None
    assert choose([cand("a"), cand("b")], [claim(0, "a")]) == "b"
    assert choose([cand("a")], [], exclude={"a"}) is None


def test_a_sibling_still_creating_blocks_adoption():
    with pytest.raises(RunOwnershipUnclearError, match=r"a.*t\[0\]"):
        choose([cand("a")], [claim(0)])


def test_a_sibling_with_another_input_or_an_older_intent_does_not_block():
    assert choose([cand("a")], [claim(0, fp="other")]) == "a"
    assert choose([cand("a")], [claim(0, since=T0 + timedelta(minutes=10))]) == "a"


def test_looking_up_siblings_with_the_same_request_yield_to_the_first():
    peers = [claim(0, phase=PHASE_LOOKUP)]
    with pytest.raises(RunOwnershipUnclearError, match="comes first"):
        choose([cand("a")], peers)  # t[0] comes first
    assert choose([cand("a")], [claim(2, phase=PHASE_LOOKUP)]) == "a"  # I come first


def test_a_looking_up_sibling_with_another_request_blocks():
    with pytest.raises(RunOwnershipUnclearError):
        choose([cand("a")], [claim(2, phase=PHASE_LOOKUP, request="other-version")])


def test_more_free_candidates_than_contenders_is_refused():
    with pytest.raises(RunOwnershipUnclearError, match="2 unclaimed"):
        choose([cand("a", 1), cand("b")], [])
    assert choose([cand("a", 1), cand("b")], [claim(2, phase=PHASE_LOOKUP)]) == "b"  # the oldest


def test_conflicting_claims_name_the_other_owners():
    claims = [claim(0, "a"), claim(1, "a"), claim(2, "b")]
    assert [c.map_index for c in conflicting_claims(claims, me=ME, run_id="a")] == [0]


def test_claims_parse_from_xcom_values():
    value = {"task_id": "t", "map_index": 3, "fingerprint": "fp", "since": T0.isoformat(), "run_id": "x"}
    parsed = Claim.from_value(value)
    assert parsed is not None and parsed.owner == ("t", 3) and parsed.phase == PHASE_CREATE
    assert Claim.from_value("task_1") is None and Claim.from_value({"task_id": "t"}) is None
