"""The example actions of spec §7: input validation and deterministic fake results."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_runs.testing.emulator.edges_api.errors import bad_input

PROFILE_URL = re.compile(
    r"^https://(www\.|[a-z]{2}\.)?linkedin\.com/(in|pub|sales/people|sales/lead)/[^/\s]+/?$"
)
COMPANY_URL = re.compile(r"^https://(www\.)?linkedin\.com/company/[^/\s]+/?$")
SEARCH_URL = re.compile(r"^https://(www\.)?linkedin\.com/search/results/people/?\?.*$")
SALES_SEARCH_URL = re.compile(r"^https://(www\.)?linkedin\.com/sales/search/people.*$")


@dataclass(frozen=True)
class Action:
    """An emulated action: its input key and pattern, whether it lists, what it needs."""

    slug: str
    input_key: str
    pattern: re.Pattern[str]
    lists: bool = False
    needs_direct_identity: bool = False

    def check(self, item: Any) -> str | None:
        """The BAD_INPUT message for an invalid input, or ``None``."""
        if not isinstance(item, dict):
            return "input must be an object"
        value = item.get(self.input_key)
        if not isinstance(value, str):
            return f"input.{self.input_key} is required"
        if not self.pattern.match(value):
            return f"input.{self.input_key} is not a valid URL for {self.slug}"
        if "custom_data" in item and not isinstance(item["custom_data"], dict):
            return "input.custom_data must be an object"
        return None

    def results(self, item: dict[str, Any], index: int) -> list[dict[str, Any]]:
        """Deterministic fake results of one input (one row, or a few for list actions)."""
        handle = str(item.get(self.input_key, "")).rstrip("/").rsplit("/", 1)[-1] or f"item{index}"
        custom = item.get("custom_data")
        row: dict[str, Any]
        if self.lists:
            rows = []
            for k in range(2):
                rows.append(
                    {
                        "full_name": f"Person {index}-{k}",
                        "linkedin_profile_url": f"https://www.linkedin.com/in/p{index}-{k}",
                        "job_title": "Engineer",
                        "company_name": "Acme",
                        "headline": "Engineer at Acme",
                        "location": "Paris",
                        "connection_degree": 2,
                    }
                )
            return [{**r, "custom_data": custom} if custom else r for r in rows]
        if self.slug == "linkedin-extract-contact":
            row = {
                "email": f"{handle}@example.com",
                "phone": None,
                "phones": [],
                "website": None,
                "linkedin_profile_handle": handle,
                "linkedin_profile_url": item.get(self.input_key),
            }
        elif self.slug == "linkedin-message-profile":
            row = {"is_sent": True, "linkedin_message_id": f"m{index}", "linkedin_thread_id": f"t{index}"}
        elif self.slug == "linkedin-extract-company":
            row = {"name": handle.title(), "linkedin_company_url": item.get(self.input_key), "employees": 120}
        else:
            row = {
                "first_name": handle.split("-")[0].title(),
                "last_name": "Doe",
                "full_name": f"{handle.title()} Doe",
                "headline": "Data Engineer",
                "linkedin_profile_id": 1_000_000 + index,
                "linkedin_profile_url": item.get(self.input_key),
                "linkedin_profile_handle": handle,
                "location": "Paris",
                "job_title": "Data Engineer",
                "experiences": [],
                "skills": [],
            }
        if custom:
            row["custom_data"] = custom
        return [row]


ACTIONS = {
    a.slug: a
    for a in (
        Action("linkedin-extract-people", "linkedin_profile_url", PROFILE_URL),
        Action("linkedin-extract-contact", "linkedin_profile_url", PROFILE_URL),
        Action("linkedin-message-profile", "linkedin_profile_url", PROFILE_URL, needs_direct_identity=True),
        Action("linkedin-extract-company", "linkedin_company_url", COMPANY_URL),
        Action("linkedin-search-people", "linkedin_people_search_url", SEARCH_URL, lists=True),
        Action(
            "salesnavigator-search-people", "sales_navigator_profile_search_url", SALES_SEARCH_URL, lists=True
        ),
        # The incremental actions of spec §2.9 (``continue``); their input keys are not published:
        # an assumption, the profile (or company page) whose connections, messages, viewers or
        # followers are read.
        Action("linkedin-extract-connections", "linkedin_profile_url", PROFILE_URL, lists=True),
        Action("linkedin-extract-messages", "linkedin_profile_url", PROFILE_URL, lists=True),
        Action("linkedin-extract-profile-viewers", "linkedin_profile_url", PROFILE_URL, lists=True),
        Action("linkedin-extract-page-followers", "linkedin_company_url", COMPANY_URL, lists=True),
    )
}


def check_inputs(body: Any, most: int) -> list[Any]:
    """A launch's ``inputs``: an array of 1 to ``most`` items (400 ``BAD_INPUT`` otherwise)."""
    if not isinstance(body, dict):
        raise bad_input("body must be an object")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise bad_input("body.inputs must NOT have fewer than 1 items")
    if len(inputs) > most:
        raise bad_input(f"body.inputs must NOT have more than {most} items")
    return inputs
