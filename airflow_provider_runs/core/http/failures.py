"""Whether a request that failed without a response may have reached the service.

A write that provably never left (connection refused, DNS failure, connect timeout) is safe to
send again; one cut after it left (a reset, a dropped connection, a read timeout) may have landed.
The HTTP libraries wrap the cause in layers (requests' ``ConnectionError`` around urllib3's
``MaxRetryError`` around ``NewConnectionError``; aiohttp's ``ClientConnectorError`` around the
``OSError``), so the verdict walks the whole chain (``__cause__``, ``__context__``, ``args``,
``reason``) and decides by type.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator

import aiohttp
import requests
import urllib3

NOT_SENT_TYPES: tuple[type[BaseException], ...] = (
    urllib3.exceptions.NewConnectionError,  # and its NameResolutionError (urllib3 2)
    urllib3.exceptions.ConnectTimeoutError,
    requests.exceptions.ConnectTimeout,
    ConnectionRefusedError,
    socket.gaierror,
    aiohttp.ClientConnectorError,  # the connection could not be made (refused, DNS, TLS setup)
    aiohttp.ConnectionTimeoutError,  # a ServerTimeoutError too: checked first
)
"""Failures before the request left: nothing reached the service."""
SENT_TYPES: tuple[type[BaseException], ...] = (
    urllib3.exceptions.ProtocolError,
    http.client.RemoteDisconnected,
    urllib3.exceptions.ReadTimeoutError,
    requests.exceptions.ReadTimeout,
    aiohttp.ServerTimeoutError,
)
"""Failures after the request left: it may have reached the service (they win over the above)."""
MAX_LINKS = 32
"""The most exceptions looked at in one chain (chains are short; cycles are skipped anyway)."""


def reached_service(exc: BaseException) -> bool:
    """Whether the request may have reached the service: ``False`` only when a failure of
    :data:`NOT_SENT_TYPES` is in the chain and none of :data:`SENT_TYPES`; an unknown failure
    counts as sent (a write is then reported ambiguous, never repeated blindly).

    :param exc: what the HTTP library raised.
    """
    not_sent = False
    for link in _chain(exc):
        if isinstance(link, NOT_SENT_TYPES):
            not_sent = True
        elif isinstance(link, SENT_TYPES):
            return True
    return not not_sent


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it links to, each once, at most :data:`MAX_LINKS`."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < MAX_LINKS:
        link = todo.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        linked = (link.__cause__, link.__context__, getattr(link, "reason", None), *link.args)
        todo.extend(item for item in linked if isinstance(item, BaseException))
