"""The secrets audit's evidence: everything a run produced that a user or another system could
see, collected from a run and searched for the API key."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from support import FakeTI


def audit_ti() -> FakeTI:
    """A task instance of the audit's DAG run that records XComs."""
    return FakeTI(dag_id="audit", run_id="manual__audit")


@dataclass
class Evidence:
    """Everything a run produced that a user or another system could see."""

    texts: list[str] = field(default_factory=list)

    def add(self, *values: Any) -> None:
        """Keep ``values`` as text (non-strings as JSON, ``repr`` for what JSON cannot hold)."""
        for value in values:
            self.texts.append(value if isinstance(value, str) else json.dumps(value, default=repr))

    def assert_clean(self, key: str) -> None:
        """Fail, naming where, if ``key`` is in any of the evidence."""
        leaks = [text[:200] for text in self.texts if key in text]
        assert not leaks, f"the API key leaked into: {leaks}"


def collect(run: Callable[[Evidence], None], caplog: Any, capfd: Any) -> Evidence:
    """The evidence of ``run``: what it added, its exception's text, the logs and output captured.

    :param run: adds what the run returned and recorded (reprs, XComs, stores) to the evidence.
    :param caplog: pytest's ``caplog`` fixture (set to DEBUG here).
    :param capfd: pytest's ``capfd`` fixture.
    """
    caplog.set_level(logging.DEBUG)
    evidence = Evidence()
    try:
        run(evidence)
    except BaseException as exc:  # the exception text is evidence too
        evidence.add(str(exc), repr(exc))
        if exc.__cause__ is not None:
            evidence.add(str(exc.__cause__))
    captured = capfd.readouterr()
    evidence.add(caplog.text, captured.out, captured.err)
    return evidence
