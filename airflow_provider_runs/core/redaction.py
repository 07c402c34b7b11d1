"""Keep API keys out of every text this provider produces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "***"


class Redactor:
    """Replace known secrets in text with ``***``.

    :param secrets: the values to hide; empty values and values shorter than 4 characters are
        ignored (hiding them would mangle ordinary text).
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret replaced."""
        if not text:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def excerpt(self, text: str, limit: int) -> str:
        """The first ``limit`` characters of ``text``, redacted *before* the cut.

        Cutting first would keep the start of a key that straddles the cut (and redacting only a
        prefix is not enough either: each replacement shortens the text and pulls later
        characters, maybe a cut key, into the excerpt), so the whole text is redacted.
        """
        return self(text)[:limit] if text else text

    def json(self, value: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, strings) with every secret replaced in its
        strings and keys: a service that echoes its input (a key rendered into it) must not put
        the key into XCom. Values without a secret come back as they are."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self(k) if isinstance(k, str) else k: self.json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(v) for v in value]
        return value

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"
