"""The request model: what a hook sends (:class:`ApiRequest`), what it gets back
(:class:`ApiResponse`), how query parameters and bodies are encoded, and how an error body is read.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MAX_BUFFERED_BODY = 8 * 1024 * 1024
"""A :class:`StreamedJson` body up to this size (8 MiB, ~80,000 small inputs) is built in memory
and sent with a ``Content-Length`` (proxies may refuse chunked uploads with 411); a bigger one is
streamed chunked, so memory stays bounded."""
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})
"""Methods whose repetition is harmless unless a request says otherwise."""

Params = Mapping[str, Any] | list[tuple[str, Any]]
"""Query parameters: a mapping, or a list of pairs for repeated keys."""
ErrorParser = Callable[[int, Any, str], tuple["str | None", "str | None"]]
"""``(status_code, parsed_json_or_None, raw_text) -> (remote_message, code)``."""


class StreamedJson:
    """A JSON body written piece by piece (e.g. 100,000 inputs), never held whole in memory.

    :param factory: returns a fresh iterator of ``bytes`` chunks each time it is called, so the
        body can be sent again on a retry.
    :param description: a short text for logs (never the content).
    """

    def __init__(self, factory: Callable[[], Iterable[bytes]], description: str = "streamed JSON") -> None:
        self.factory = factory
        self.description = description

    def chunks(self) -> Iterator[bytes]:
        """A fresh iterator over the body's bytes."""
        return iter(self.factory())

    def __repr__(self) -> str:
        return f"StreamedJson({self.description})"


@dataclass(frozen=True)
class ApiRequest:
    """A request description, built once and sent by either transport (``send``).

    :param method: HTTP method.
    :param path: path below the base URL, or an absolute URL (pagination links).
    :param params: query parameters (a list of pairs for repeated keys).
    :param json_body: the JSON body, if any (a :class:`StreamedJson` for a big one).
    :param idempotent: whether repeating it is harmless (``None``: decided by the method).
    :param read_timeout: overrides the transport's read timeout (long polls).
    :param headers: extra headers.
    """

    method: str
    path: str
    params: Params | None = None
    json_body: Any = None
    idempotent: bool | None = None
    read_timeout: float | None = None
    headers: Mapping[str, str] | None = None

    @property
    def repeatable(self) -> bool:
        """Whether sending it twice is harmless: :attr:`idempotent`, else ``True`` for
        GET/HEAD/PUT/DELETE."""
        if self.idempotent is None:
            return self.method.upper() in IDEMPOTENT_METHODS
        return self.idempotent


@dataclass(frozen=True)
class ApiResponse:
    """A successful response: status code, headers and the decoded JSON body (or ``None``).

    :param status_code: the HTTP status code (2xx).
    :param headers: the response headers.
    :param body: the decoded JSON body, ``None`` when empty.
    """

    status_code: int
    headers: Mapping[str, str]
    body: Any


def encode_params(params: Params | None) -> list[tuple[str, str]] | None:
    """Turn query parameters into string pairs; ``None`` values are dropped, booleans lowercased."""
    if params is None:
        return None
    items = params.items() if isinstance(params, Mapping) else params
    return [(k, _param_str(v)) for k, v in items if v is not None]


def _param_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sync_body(json_body: Any) -> str | bytes | Iterator[bytes] | None:
    """The body as ``requests`` sends it: JSON text, or a :class:`StreamedJson` whole (small) or as
    an iterator of chunks (sent chunked); ``None`` without a body."""
    if json_body is None:
        return None
    if isinstance(json_body, StreamedJson):
        return _small_or_stream(json_body)
    return json.dumps(json_body)


def async_body(json_body: Any) -> str | bytes | AsyncIterator[bytes] | None:
    """The body as ``aiohttp`` sends it: like :func:`sync_body`, a big stream as an async iterator."""
    if json_body is None:
        return None
    if isinstance(json_body, StreamedJson):
        body = _small_or_stream(json_body)
        return body if isinstance(body, bytes) else _aiter(body)
    return json.dumps(json_body)


def _small_or_stream(body: StreamedJson) -> bytes | Iterator[bytes]:
    """The whole body as bytes when it is at most :data:`MAX_BUFFERED_BODY` (sent with a
    ``Content-Length``), else an iterator over all its chunks (sent chunked)."""
    chunks = body.chunks()
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > MAX_BUFFERED_BODY:
            return itertools.chain(head, chunks)
    return b"".join(head)


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def default_error_parser(status_code: int, body: Any, text: str) -> tuple[str | None, str | None]:
    """Find a message and a code in common error body shapes; fall back to the raw text.

    :param status_code: the HTTP status code.
    :param body: the parsed JSON body, ``None`` when it is not JSON.
    :param text: the raw body text (already redacted).
    """
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return _first_str(err, ("message", "detail", "title")), _first_str(err, ("code", "label"))
        message = _first_str(body, ("detail", "message", "title", "error"))
        code = _first_str(body, ("code", "error_label"))
        if message or code:
            return message, code
    snippet = (text or "").strip()
    return (snippet[:500] or None), None


def _first_str(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None
