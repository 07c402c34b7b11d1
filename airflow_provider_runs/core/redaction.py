"""Keep API keys out of every text this provider produces."""

from __future__ import annotations

from collections.abc import Iterable

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

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"
