"""The spec's marked assumptions (§8), in one place so they are easy to change."""

from __future__ import annotations

MAX_ASYNC_INPUTS = 100_000  # §2.2 / §8 #8
MAX_SCHEDULE_INPUTS = 100  # §2.3 / §8 #8
LIST_LIMIT = (1, 100, 10)  # §2.4 (min, max, default)
OUTPUTS_LIMIT = (1, 500, 100)  # §2.6 / §8 #12: emulator caps at 500
INPUTS_LIMIT = (1, 100, 100)  # §2.7
CALLBACKS_LIMIT = (1, 20, 10)  # §2.10
SORT_FIELDS = ("created_at", "updated_at", "status")  # §8 #11
MAX_SORT_ITEMS = 10  # §1
RESUMABLE = ("BLOCKED", "STOPPED")  # §8 #3
CONTINUABLE = ("BLOCKED", "STOPPED", "FAILED", "PARTIAL_SUCCEEDED", "SUCCEEDED")  # §2.9
INCREMENTAL_ACTIONS = (
    "linkedin-extract-connections",
    "linkedin-extract-messages",
    "linkedin-extract-profile-viewers",
    "linkedin-extract-page-followers",
)  # §2.9
CALLBACK_REQUIRED = True  # §8 #2: the docs mark an async launch's callback required: 400 without one
CALLBACK_ATTEMPTS = 3  # §8 #6
MAX_REPLAYS = 3  # §2.10
SCHEDULE_EXECUTION_MODE = "ASYNC"  # §8 #13
LIVE_PAGE_SIZE = 5  # results per live page of a list action
LIVE_PAGES = 3  # pages a live list action has
# §6.3: 429 responses document X-RateLimit-Type and X-RateLimit-Remaining; Retry-After is only in
# vendor skill files, so the emulator's metering 429s send none (§8 #10's "emulator sends it" is
# superseded; fault rules can still add one with ``retry_after``). Clients back off from 1 s.
RETRY_AFTER_ON_RATE_LIMIT = False
# §6.3 documents the X-RateLimit-Type header but not its values: the emulator names the budget.
RATE_LIMIT_TYPES = {"runs": "runs", "live": "live"}
