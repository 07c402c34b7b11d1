"""Edges schedules managed from a DAG, against the emulator: create or update by name (a retry or
a second DAG run creates nothing), pause, resume, cancel (idempotent), by uid or name."""

from __future__ import annotations

import pytest

from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.operators.edges_schedules import EdgesScheduleActionOperator, EdgesScheduleOperator
from airflow_provider_runs.validation import InvalidArgumentError
from airflow_provider_runs.waiting.errors import RunFailedNoRetryError

from support import make_context

ACTION = "linkedin-extract-contact"


def profiles(n: int, start: int = 0) -> list[dict]:
    return [
        {"linkedin_profile_url": f"https://www.linkedin.com/in/person-{i}"} for i in range(start, start + n)
    ]


def counters(edges_emulator) -> dict:
    return edges_emulator.control.counters()["edges"]


def upsert(**kwargs) -> EdgesScheduleOperator:
    args = {
        "task_id": "weekly",
        "name": "weekly contacts",
        "action": ACTION,
        "inputs": profiles(2),
        "cron": "0 6 * * 1",
        "timezone": "Europe/Paris",
    }
    return EdgesScheduleOperator(**{**args, **kwargs})


def schedules(status=None) -> list[dict]:
    filters = {"status": status} if status else None
    return list(EdgesHook().iter_schedules(filters=filters))


# -- create or update by name -------------------------------------------------------------------
def test_created_once_across_retries_and_dag_runs(edges_emulator):
    first = upsert().execute(make_context(1))
    retry = upsert().execute(make_context(2))
    next_dag_run = upsert().execute(make_context(1, run_id="scheduled__2"))
    assert first["outcome"] == "created" and first["status"] == "ACTIVE"
    assert retry["outcome"] == next_dag_run["outcome"] == "unchanged"
    assert first["schedule_uid"] == retry["schedule_uid"] == next_dag_run["schedule_uid"]
    assert counters(edges_emulator)["schedules_created"] == 1
    assert (
        first["name"].startswith("weekly contacts #") and len(first["name"]) == len("weekly contacts #") + 12
    )
    assert first["url"].endswith(f"/schedules/{first['schedule_uid']}")


def test_the_link_is_published(edges_emulator):
    context = make_context(1)
    manifest = upsert().execute(context)
    assert context["ti"].xcoms["run_url"] == manifest["url"]


@pytest.mark.parametrize(
    "change",
    [
        {"inputs": profiles(3)},
        {"cron": "0 7 * * 1"},
        {"timezone": "UTC"},
        {"parameters": {"x": 1}},
        {"callback": {"url": "https://hooks.example.com/edges", "headers": {"X-Token": "s3cret-token"}}},
        {"action": "linkedin-extract-people"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_changed_definition_replaces_the_schedule(edges_emulator, change):
    first = upsert().execute(make_context(1))
    second = upsert(**change).execute(make_context(1, run_id="scheduled__2"))
    assert second["outcome"] == "updated" and second["schedule_uid"] != first["schedule_uid"]
    assert second["replaced"] == [first["schedule_uid"]]
    assert EdgesHook().get_schedule(first["schedule_uid"])["status"] == "CANCELLED"
    live = schedules(["ACTIVE", "PAUSED"])
    assert [s["uid"] for s in live] == [second["schedule_uid"]]
    assert counters(edges_emulator)["schedules_created"] == 2
    assert "s3cret-token" not in second["name"]


def test_a_callback_header_value_changes_the_digest_without_showing_it(edges_emulator):
    cb = {"url": "https://hooks.example.com/edges", "headers": {"X-Token": "one"}}
    first = upsert(callback=cb).execute(make_context(1))
    second = upsert(callback={**cb, "headers": {"X-Token": "two"}}).execute(make_context(2))
    assert second["outcome"] == "updated" and first["name"] != second["name"]


def test_a_replaced_paused_schedule_leaves_the_new_one_paused(edges_emulator):
    first = upsert().execute(make_context(1))
    EdgesScheduleActionOperator(task_id="p", operation="pause", schedule_uid=first["schedule_uid"]).execute(
        make_context()
    )
    second = upsert(cron="0 8 * * 1").execute(make_context(2))
    assert second["status"] == "PAUSED" and second["outcome"] == "updated"
    third = upsert(cron="0 9 * * 1", keep_paused=False).execute(make_context(3))
    assert third["status"] == "ACTIVE"


def test_duplicates_of_one_definition_keep_the_oldest(edges_emulator):
    first = upsert().execute(make_context(1))
    hook = EdgesHook()
    duplicate = hook.run_schedule(
        ACTION, profiles(2), cron="0 6 * * 1", timezone="Europe/Paris", name=first["name"]
    )
    again = upsert().execute(make_context(2))
    assert again["schedule_uid"] == first["schedule_uid"] and again["replaced"] == [duplicate["uid"]]
    assert hook.get_schedule(duplicate["uid"])["status"] == "CANCELLED"


def test_a_hand_made_schedule_of_the_bare_name_is_left_alone(edges_emulator):
    hand = EdgesHook().run_schedule(ACTION, profiles(1), cron="0 1 * * *", name="weekly contacts")
    manifest = upsert().execute(make_context(1))
    assert manifest["outcome"] == "created" and manifest["replaced"] == []
    assert EdgesHook().get_schedule(hand["uid"])["status"] == "ACTIVE"


def test_a_create_whose_answer_was_dropped_is_adopted(edges_emulator):
    edges_emulator.control.add_faults(
        [
            {
                "service": "edges",
                "method": "POST",
                "path_regex": "/run/schedule$",
                "kind": "drop",
                "phase": "after",
                "count": 1,
            }
        ]
    )
    manifest = upsert().execute(make_context(1))
    assert manifest["outcome"] == "created" and counters(edges_emulator)["schedules_created"] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name must be a string of 1 to 241"),
        ({"action": "Not A Slug"}, "action must be an action slug"),
        ({"inputs": []}, "inputs must hold 1 to 100"),
        ({"inputs": profiles(101)}, "inputs must hold 1 to 100"),
        ({"inputs": "not json"}, "not JSON"),
        ({"cron": "every day"}, "cron must be a 5-field"),
        ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
        ({"callback": {"url": "ftp://x"}}, "callback url"),
        ({"parameters": [1]}, "parameters must be a JSON object"),
    ],
)
def test_bad_arguments_fail_before_any_call(edges_emulator, kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        upsert(**kwargs).execute(make_context())
    assert sum(counters(edges_emulator)["requests"].values()) == 0


def test_templated_fields_cover_every_string_argument():
    fields = set(EdgesScheduleOperator.template_fields)
    assert {
        "name",
        "action",
        "inputs",
        "cron",
        "timezone",
        "callback",
        "identity_mode",
        "identity_ids",
        "edges_conn_id",
    } <= fields
    assert {"operation", "schedule_uid", "name", "edges_conn_id"} <= set(
        EdgesScheduleActionOperator.template_fields
    )


# -- pause, resume, cancel ----------------------------------------------------------------------
def act(operation: str, **target) -> dict:
    return EdgesScheduleActionOperator(task_id=f"{operation}_it", operation=operation, **target).execute(
        make_context()
    )


@pytest.mark.parametrize("by", ["uid", "name"])
def test_pause_resume_cancel_are_idempotent(edges_emulator, by):
    uid = upsert().execute(make_context())["schedule_uid"]
    target = {"schedule_uid": uid} if by == "uid" else {"name": "weekly contacts"}
    first = act("pause", **target)["schedules"]
    assert first[0]["status"] == "PAUSED" and first[0]["changed"]
    again = act("pause", **target)["schedules"]
    assert again[0]["status"] == "PAUSED" and not again[0]["changed"]
    assert counters(edges_emulator)["schedules_pause"] == 1
    assert act("resume", **target)["schedules"][0]["status"] == "ACTIVE"
    assert not act("resume", **target)["schedules"][0]["changed"]
    assert act("cancel", **target)["schedules"][0]["status"] == "CANCELLED"
    cancelled_again = act("cancel", **target)["schedules"]  # by name: no live schedule any more
    assert all(not s["changed"] for s in cancelled_again)
    assert (
        counters(edges_emulator)["schedules_pause"] == 1 and counters(edges_emulator)["schedules_resume"] == 1
    )
    assert counters(edges_emulator)["schedules_cancel"] == 1


def test_pausing_a_cancelled_schedule_fails_without_retrying(edges_emulator):
    uid = upsert().execute(make_context())["schedule_uid"]
    act("cancel", schedule_uid=uid)
    with pytest.raises(RunFailedNoRetryError, match="CANCELLED; it cannot be paused"):
        act("pause", schedule_uid=uid)


def test_pausing_an_unknown_name_fails_clearly(edges_emulator):
    with pytest.raises(RunFailedNoRetryError, match="No live Edges schedule is named 'nope'"):
        act("pause", name="nope")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"operation": "delete", "schedule_uid": "s"}, "operation must be pause, resume or cancel"),
        ({"operation": "pause"}, "exactly one of schedule_uid and name"),
        ({"operation": "pause", "schedule_uid": "a", "name": "b"}, "exactly one of schedule_uid and name"),
        ({"operation": "pause", "schedule_uid": "../x"}, "schedule_uid"),
    ],
)
def test_action_bad_arguments_fail_before_any_call(edges_emulator, kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        EdgesScheduleActionOperator(task_id="a", **kwargs).execute(make_context())
    assert sum(counters(edges_emulator)["requests"].values()) == 0
