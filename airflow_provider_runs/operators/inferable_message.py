"""Send a message to an Inferable conversation run, once (``specs/inferable.md`` §2.4, §2.5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_runs.core.errors import AmbiguousWriteError, ConflictError, NotFoundError
from airflow_provider_runs.core.states import RunState, RunStatus
from airflow_provider_runs.hooks.inferable_messages import MESSAGES_PAGE
from airflow_provider_runs.hooks.inferable_messages import new_message_id as make_message_id
from airflow_provider_runs.operators.inferable_actions import InferableActionOperator
from airflow_provider_runs.services import INFERABLE
from airflow_provider_runs.validation import parse_timestamp
from airflow_provider_runs.waiting.run_record import earliest_start, task_state_store

MESSAGE_RECORD_KEY = "airflow_provider_runs.inferable_message"
"""Task state store key of the message a task instance sends (its id, and whether it was sent)."""
MAX_MESSAGE_CHARS = 100_000
"""The longest message sent (the request body is capped at 1 MiB, spec §1)."""
LOOKUP_SKEW = timedelta(minutes=2)
"""Clock skew allowed when a retry without a state store looks for its message by text."""


class InferableSendMessageOperator(InferableActionOperator):
    """Send a message to an Inferable run to continue the conversation
    (``POST /clusters/{c}/runs/{r}/messages``); optionally wait for the run's answer.

    The run must be interactive (created with ``interactive=True``) and not ``running`` (409:
    the task fails and retries). Returns ``{"run_id", "message_id", "outcome" ("sent" |
    "already_sent"), "url"}``; with ``wait_for_completion`` also the run's next ``state`` /
    ``status`` (done, or paused on an approval), its ``result`` and ``reply`` (the agent's last
    message text).

    Idempotent on retry: the message carries a client id (a ULID, spec §2.5), kept in the task
    state store (Airflow 3.3+) before it is sent. A retry finds the record: sent, or found among
    the run's messages by its id, means nothing is sent again; after an ambiguous failure the
    message is looked up the same way before it is sent again, with the same id. Without a
    state store (Airflow 3.1) a retry looks for a human message with the same text sent since
    the DAG run started. A task cleared after it succeeded sends the message again.

    :param run_id: the Inferable run. Templated.
    :param message: the text to send. Templated.
    :param inferable_conn_id: the connection id (default ``inferable_default``). Templated.
    :param cluster_id: overrides the connection's cluster id. Templated.
    :param wait_for_completion: then wait for the run to answer (done, or paused on an approval).
    """

    template_fields: Sequence[str] = ("run_id", "message", "inferable_conn_id", "cluster_id")
    template_fields_renderers = {"message": "md"}

    def __init__(
        self,
        *,
        run_id: str,
        message: str,
        inferable_conn_id: str = INFERABLE.default_conn_id,
        cluster_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.message = message
        self.inferable_conn_id = inferable_conn_id
        self.cluster_id = cluster_id

    def validate_arguments(self) -> None:
        """The ids and a non-empty ``message`` of at most :data:`MAX_MESSAGE_CHARS`."""
        self.check_common()
        if not isinstance(self.message, str) or not self.message.strip():
            raise ValueError(f"message must be a non-empty string; got {self.message!r}"[:200])
        if len(self.message) > MAX_MESSAGE_CHARS:
            raise ValueError(f"message is {len(self.message)} characters; at most {MAX_MESSAGE_CHARS}")

    def act(self, context: Any) -> dict[str, Any]:
        """Send the message once (see the class docstring)."""
        self.publish_link(context, self.run_id)
        store = task_state_store(context)
        record = store.get(MESSAGE_RECORD_KEY) if store is not None else None
        if isinstance(record, dict) and record.get("run_id") == self.run_id and not record.get("completed"):
            message_id = str(record["message_id"])
            if record.get("sent") or self.hook.find_message(self.run_id, message_id):
                self.log.info(
                    "Message %s was sent to run %s by an earlier try; not sending it again.",
                    message_id,
                    self.run_id,
                )
                self._record(store, message_id, sent=True)
                return self._manifest(message_id, "already_sent")
        else:
            found = None if store is not None else self._sent_before(context)
            if found:
                self.log.info(
                    "A message with this text (%s) is already in run %s; not sending it again.",
                    found,
                    self.run_id,
                )
                return self._manifest(found, "already_sent")
            message_id = make_message_id()
            self._record(store, message_id, sent=False)
        self._send(message_id)
        self._record(store, message_id, sent=True)
        self.log.info("Sent message %s to run %s.", message_id, self.run_id)
        return self._manifest(message_id, "sent")

    def _send(self, message_id: str) -> None:
        """``POST .../messages`` with the id; an ambiguous failure is settled by a look-up."""
        try:
            self.hook.add_message(self.run_id, self.message, message_id=message_id)
        except AmbiguousWriteError:
            if self.hook.find_message(self.run_id, message_id) is None:
                raise
            self.log.warning("The send of message %s failed ambiguously but the run has it.", message_id)
        except NotFoundError:
            raise AirflowFailException(
                f"run_id {self.run_id!r}: no such Inferable run in this cluster"
            ) from None
        except ConflictError as exc:
            raise AirflowException(
                f"Run {self.run_id} cannot take a message now ({exc.message}); the task retries, if it "
                f"has retries. Run: {self.run_url(self.run_id)}"
            ) from None

    def _sent_before(self, context: Any) -> str | None:
        """Without a state store, on a retry: the id of a human message with this text sent
        since the DAG run started (newest 50 messages), else ``None``."""
        ti = context.get("ti")
        if int(getattr(ti, "try_number", 1) or 1) <= 1:
            return None
        since = earliest_start(context) - LOOKUP_SKEW
        for item in self.hook.newest_messages(self.run_id)[:MESSAGES_PAGE]:
            data = _data(item)
            created = item.get("createdAt")
            try:
                recent = parse_timestamp(str(created)) >= since
            except ValueError:
                recent = True
            if item.get("type") == "human" and data.get("message") == self.message and recent:
                return str(item.get("id"))
        return None

    def _record(self, store: Any, message_id: str, *, sent: bool, completed: bool = False) -> None:
        if store is not None:
            value = {"run_id": self.run_id, "message_id": message_id, "sent": sent, "completed": completed}
            store.set(MESSAGE_RECORD_KEY, value)

    def succeeded(self, context: Any) -> None:
        """Mark the message record completed: a user clear of the task sends a new message."""
        store = task_state_store(context)
        record = store.get(MESSAGE_RECORD_KEY) if store is not None else None
        if isinstance(record, dict) and record.get("message_id"):
            self._record(store, str(record["message_id"]), sent=True, completed=True)

    def _manifest(self, message_id: str, outcome: str) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "message_id": message_id,
            "outcome": outcome,
            "url": self.run_url(self.run_id),
        }

    def is_stale(self, run_id: str, status: RunStatus, manifest: Mapping[str, Any]) -> bool:
        """A ``done``/``failed`` status is the answer to this message only when an agent message
        follows it; before that the run has not taken the message up yet."""
        if not status.state.is_terminal or not manifest.get("message_id"):
            return False
        newer = self.hook.newest_messages(run_id, after=str(manifest["message_id"]))
        return not any(m.get("type") == "agent" for m in newer)

    def waited_fields(self, run_id: str, status: RunStatus) -> dict[str, Any]:
        """Also the agent's last message text (``reply``)."""
        fields = super().waited_fields(run_id, status)
        if status.state is RunState.SUCCEEDED:
            agent = next((m for m in self.hook.newest_messages(run_id) if m.get("type") == "agent"), None)
            data = _data(agent or {})
            fields["reply"] = data.get("message")
        return fields


def _data(message: Mapping[str, Any]) -> dict[str, Any]:
    """A message's ``data`` object (empty when it has none)."""
    data = message.get("data")
    return data if isinstance(data, dict) else {}
