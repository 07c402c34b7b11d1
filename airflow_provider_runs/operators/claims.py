"""Claims: which task instance owns which remote run, for services without a client reference.

inference.sh has no idempotency key and no client reference field, so a run can only be found
again by what it echoes (input, app, ...). Two task instances sending the same request (two map
indexes with equal input) create runs that look the same. To never adopt a run another task
instance may own, every task instance of such a service publishes a *claim* in XCom (key
:data:`CLAIM_XCOM_KEY`), where every task instance of the DAG run can read it:

- before a create call or a look-up: ``run_id=None`` with its phase (an *intent*: "a run with
  this fingerprint, created at or after ``since``, may be mine");
- once it knows its run (created, found or reattached): ``run_id=<id>``.

A look-up (:func:`choose_run`) then excludes every candidate claimed by another task instance,
and refuses to adopt (raises :class:`RunOwnershipUnclearError`, a retryable failure that creates
nothing) when another task instance could own a candidate; see :func:`choose_run` for the rule.
An adopted run is claimed at once and the claims read again (:func:`conflicting_claims`).

:class:`ClaimsMixin` is how an operator publishes and uses claims (the base operator has it).

Works the same on every Airflow 3 version (XCom only; no task state store needed). XComs of a
task instance are deleted when its next try starts, so a try republishes its claim first thing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_runs.validation import parse_timestamp

if TYPE_CHECKING:
    from airflow_provider_runs.hooks.base import RunsHook

CLAIM_XCOM_KEY = "runs_claim"
"""The XCom key of a task instance's claim."""
PHASE_CREATE = "create"
PHASE_LOOKUP = "lookup"
CLAIM_SKEW = timedelta(minutes=2)
"""Clock skew allowed between Airflow workers and the service when comparing times."""


class RunOwnershipUnclearError(AirflowException):
    """A look-up found runs that may belong to another task instance: nothing was adopted or
    created; the try fails and Airflow retries it (by then the other task instance has
    usually published its claim)."""


@dataclass(frozen=True)
class Claim:
    """One task instance's claim (the XCom value, as a dict).

    :param task_id: the claiming task.
    :param map_index: its map index (``-1`` when not mapped).
    :param fingerprint: :func:`fingerprint` of what a look-up matches runs on (two requests with
        the same fingerprint create runs a look-up cannot tell apart).
    :param request: :func:`fingerprint` of the whole request (equal: the runs are interchangeable).
    :param since: ISO time from which a run of this task instance may have been created.
    :param run_id: the run the task instance owns; ``None`` while it is creating or looking up.
    :param phase: with ``run_id=None``: ``create`` (a create call is in flight: its answer will
        name the run, without a look-up) or ``lookup`` (it lost its run id and looks it up).
    """

    task_id: str
    map_index: int
    fingerprint: str
    since: str
    run_id: str | None = None
    request: str = ""
    phase: str = PHASE_CREATE

    @classmethod
    def from_value(cls, value: Any) -> Claim | None:
        """Parse an XCom value; anything else is ignored."""
        if not isinstance(value, dict) or not isinstance(value.get("fingerprint"), str):
            return None
        try:
            return cls(
                task_id=str(value["task_id"]),
                map_index=int(value.get("map_index", -1)),
                fingerprint=value["fingerprint"],
                since=str(value.get("since") or ""),
                run_id=str(value["run_id"]) if value.get("run_id") else None,
                request=str(value.get("request") or ""),
                phase=str(value.get("phase") or PHASE_CREATE),
            )
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def owner(self) -> tuple[str, int]:
        """``(task_id, map_index)``."""
        return self.task_id, self.map_index

    def since_datetime(self) -> datetime | None:
        """``since`` as an aware datetime (``None`` when unreadable)."""
        return _parse_time(self.since)

    def describe(self) -> str:
        """``task[map_index]``."""
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


@dataclass(frozen=True)
class Candidate:
    """A run a look-up matched: its id and creation time (service clock)."""

    run_id: str
    created_at: datetime | None = None


def fingerprint(service: str, payload: Any) -> str:
    """sha256 of the canonical JSON of what a look-up matches runs on."""
    text = json.dumps([service, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def owner_of(context: Any, task_id: str) -> tuple[str, int]:
    """``(task_id, map_index)`` of the running task instance."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return (getattr(ti, "task_id", None) or task_id, map_index if isinstance(map_index, int) else -1)


def push_claim(context: Any, claim: Claim) -> None:
    """Publish this task instance's claim (overwrites its previous one)."""
    context["ti"].xcom_push(key=CLAIM_XCOM_KEY, value=asdict(claim))


def read_claims(context: Any, task_ids: Sequence[str]) -> list[Claim]:
    """Every claim published in this DAG run by ``task_ids`` (all their map indexes).

    One XCom read per task (``xcom_pull`` with no ``map_indexes`` reads every map index). A
    task instance object without ``xcom_pull`` (a test double) has no siblings to read.
    A failed read raises :class:`RunOwnershipUnclearError`: without the claims nothing may be adopted.
    """
    pull = getattr(context["ti"], "xcom_pull", None)
    if pull is None or not task_ids:
        return []
    try:
        values = pull(task_ids=list(task_ids), key=CLAIM_XCOM_KEY)
    except Exception as exc:
        raise RunOwnershipUnclearError(
            f"Could not read the run claims of the other task instances ({type(exc).__name__}: {exc}); "
            "not adopting or creating a run in this try."
        ) from exc
    if isinstance(values, dict):
        values = [values]
    claims = []
    for value in values or []:
        claim = Claim.from_value(value)
        if claim is not None:
            claims.append(claim)
    return claims


def choose_run(
    candidates: Iterable[Candidate],
    claims: Iterable[Claim],
    *,
    me: tuple[str, int],
    fingerprint: str,
    request: str,
    exclude: Iterable[str] = (),
) -> str | None:
    """The candidate this task instance may adopt, or ``None`` when every candidate is taken.

    1. Candidates claimed by another task instance (or in ``exclude``) are out.
    2. Another task instance with the same ``fingerprint`` whose claim is pending and could have
       created a candidate (created after its ``since``) *contends*. A contender in the
       ``create`` phase will claim its run from the create answer without looking: refuse. A
       contender looking up with a different ``request``: its run is not interchangeable with
       ours: refuse. Contenders looking up with the same request: the lowest ``(task_id,
       map_index)`` among them and this task instance adopts; the others refuse.
    3. More free candidates than contenders plus one: some belong to nobody here (another DAG
       run or client): refuse.

    Otherwise the oldest free candidate. The caller claims it and checks the claims again
    (:func:`conflicting_claims`): two task instances never keep the same run.

    :raises RunOwnershipUnclearError: when refusing; nothing is adopted or created.
    """
    others = [c for c in claims if c.owner != me]
    taken = {c.run_id for c in others if c.run_id} | set(exclude)
    free = [c for c in candidates if c.run_id not in taken]
    if not free:
        return None
    contenders = [
        c for c in others if c.run_id is None and c.fingerprint == fingerprint and _may_own(c, free)
    ]
    blocking = [c for c in contenders if c.phase != PHASE_LOOKUP or c.request != request]
    peers = [c for c in contenders if c not in blocking]
    reason = None
    if blocking:
        reason = "another task instance with the same input has not published its run yet"
    elif len(free) > 1 + len(peers):
        reason = f"{len(free)} unclaimed runs match this request"
    elif any(c.owner < me for c in peers):
        reason = "a task instance with the same request that comes first is looking up its run"
    if reason is None:
        return min(free, key=lambda c: (c.created_at is None, c.created_at or 0, c.run_id)).run_id
    if contenders:
        reason += f" (pending: {', '.join(sorted(c.describe() for c in contenders))})"
    raise RunOwnershipUnclearError(
        f"Cannot tell whether run(s) {', '.join(c.run_id for c in free)} belong to this task "
        f"instance: {reason}. The service has no client reference, so equal requests look the "
        "same. Nothing was adopted or created; the next try looks again (by then the other task "
        "instances have usually published their claims)."
    )


def conflicting_claims(claims: Iterable[Claim], *, me: tuple[str, int], run_id: str) -> list[Claim]:
    """Claims of other task instances on ``run_id`` (checked after claiming it)."""
    return [c for c in claims if c.owner != me and c.run_id == run_id]


def _may_own(claim: Claim, free: Sequence[Candidate]) -> bool:
    """Whether a pending intent could have created one of ``free`` (created after its ``since``)."""
    since = claim.since_datetime()
    if since is None:
        return True
    return any(c.created_at is None or c.created_at >= since - CLAIM_SKEW for c in free)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


class ClaimsMixin:
    """An operator's claims: publish its own, choose its run among look-up candidates by the
    claims of the DAG run, and remember the runs this try must not adopt."""

    hook_class: ClassVar[type[RunsHook]]
    """The service's hook class (claims are per service)."""
    task_id: str

    def _not_reattachable(self, run_id: str | None) -> None:
        """Remember a run that must not be reused in this try (ended, missing, or replaced)."""
        if run_id:
            self.__dict__.setdefault("_replaced_runs", set()).update(self.hook_class.member_runs(run_id))

    @property
    def replaced_runs(self) -> frozenset[str]:
        """Run ids this try decided not to reuse (a look-up must not adopt them)."""
        return frozenset(self.__dict__.get("_replaced_runs", ()))

    def claim_payload(self) -> Any | None:
        """What :meth:`find_submitted` matches runs on (hashed into the claim fingerprint);
        ``None`` (the default) when the service has its own reference and needs no claims."""
        return None

    def claim_request(self) -> Any:
        """The whole request: equal requests create interchangeable runs (see
        :func:`choose_run`)."""
        return self.claim_payload()

    def _claim(self, context: Any, run_id: str | None, since: datetime, phase: str = PHASE_CREATE) -> None:
        """Publish this task instance's claim: ``run_id`` it owns, or a pending one (``phase``)."""
        payload = self.claim_payload()
        if payload is None:
            return
        self._claim_since = since
        task_id, map_index = owner_of(context, self.task_id)
        push_claim(
            context,
            Claim(
                task_id=task_id,
                map_index=map_index,
                fingerprint=fingerprint(self.hook_class.service, payload),
                since=since.isoformat(),
                run_id=run_id,
                request=fingerprint(self.hook_class.service, self.claim_request()),
                phase=phase,
            ),
        )

    def claim_task_ids(self) -> list[str]:
        """Tasks of the DAG whose claims can concern this one: runs operators of the same service."""
        dag = self.get_dag() if hasattr(self, "get_dag") else None
        if dag is None:
            return [self.task_id]
        ids = []
        for task_id, task in dag.task_dict.items():
            cls = getattr(task, "operator_class", None) or type(task)
            hook_class = getattr(cls, "hook_class", None) if isinstance(cls, type) else None
            if task_id == self.task_id or (
                hook_class is not None
                and issubclass(cls, ClaimsMixin)
                and hook_class.service == self.hook_class.service
            ):
                ids.append(task_id)
        return ids

    def choose_own_run(self, context: Any, candidates: Sequence[Candidate]) -> str | None:
        """The candidate that is this task instance's run, by the claims of the DAG run.

        Candidates claimed by another task instance are skipped; when ownership is unclear,
        :class:`RunOwnershipUnclearError` (nothing adopted).
        The chosen run is claimed at once and the claims read again: if another task instance
        claimed it meanwhile, this one lets it go and fails the try (it never shares a run).
        """
        candidates = [c for c in candidates if c.run_id not in self.replaced_runs]
        payload = self.claim_payload()
        if not candidates or payload is None:
            return candidates[0].run_id if candidates else None
        me = owner_of(context, self.task_id)
        task_ids = self.claim_task_ids()
        since = getattr(self, "_claim_since", None) or datetime.now(timezone.utc)
        run_id = choose_run(
            candidates,
            read_claims(context, task_ids),
            me=me,
            fingerprint=fingerprint(self.hook_class.service, payload),
            request=fingerprint(self.hook_class.service, self.claim_request()),
            exclude=self.replaced_runs,
        )
        if run_id is None:
            return None
        self._claim(context, run_id, since)
        rivals = conflicting_claims(read_claims(context, task_ids), me=me, run_id=run_id)
        if rivals:
            self._claim(context, None, since, PHASE_LOOKUP)
            raise RunOwnershipUnclearError(
                f"Run {run_id} was claimed at the same time by {', '.join(c.describe() for c in rivals)}; "
                "letting it go. Nothing was adopted or created; the next try looks again."
            )
        return run_id
