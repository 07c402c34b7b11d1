"""Whether a request that failed without a response may have reached the service.

A write that provably never left (connection refused, DNS failure, connect timeout) is safe to
send again; one cut after it left (a reset, a dropped connection, a read timeout) may have landed.
The HTTP libraries wrap the cause in layers (requests' ``ConnectionError`` around urllib3's
``MaxRetryError`` around ``NewConnectionError``; aiohttp's ``ClientConnectorError`` around the
``OSError``), so the verdict walks the whole chain (``__cause__``, ``__context__``, ``args``,
``reason``) and decides by type.

The types are named, not imported: a library's types are resolved once it is loaded (an exception
of a library nobody imported cannot be raised), so this module loads no HTTP library itself and
the worker's path never loads aiohttp, nor the triggerer's requests.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Iterator

NOT_SENT_TYPES: tuple[str, ...] = (
    "urllib3.exceptions.NewConnectionError",  # and its NameResolutionError (urllib3 2)
    "urllib3.exceptions.ConnectTimeoutError",
    "requests.exceptions.ConnectTimeout",
    "builtins.ConnectionRefusedError",
    "socket.gaierror",
    "aiohttp.ClientConnectorError",  # the connection could not be made (refused, DNS, TLS setup)
    "aiohttp.ConnectionTimeoutError",  # a ServerTimeoutError too: checked first
    "ssl.SSLCertVerificationError",  # the handshake refused the server's certificate
)
"""Failures before the request left: nothing reached the service."""
SENT_TYPES: tuple[str, ...] = (
    "urllib3.exceptions.ProtocolError",
    "http.client.RemoteDisconnected",
    "urllib3.exceptions.ReadTimeoutError",
    "requests.exceptions.ReadTimeout",
    "aiohttp.ServerTimeoutError",
)
"""Failures after the request left: it may have reached the service (they win over the above)."""
_LIBRARIES = ("aiohttp", "requests", "urllib3")
"""The HTTP libraries whose types are looked up only once loaded."""
MAX_LINKS = 32
"""The most exceptions looked at in one chain (chains are short; cycles are skipped anyway)."""


def reached_service(exc: BaseException) -> bool:
    """Whether the request may have reached the service: ``False`` only when a failure of
    :data:`NOT_SENT_TYPES` is in the chain and none of :data:`SENT_TYPES`; an unknown failure
    counts as sent (a write is then reported ambiguous, never repeated blindly).

    :param exc: what the HTTP library raised.
    """
    not_sent_types, sent_types = _types(*(sys.modules.get(library) is not None for library in _LIBRARIES))
    not_sent = False
    for link in _chain(exc):
        if isinstance(link, not_sent_types):
            not_sent = True
        elif isinstance(link, sent_types):
            return True
    return not not_sent


@functools.cache
def _types(*loaded: bool) -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """``(not sent, sent)`` types of :data:`NOT_SENT_TYPES` and :data:`SENT_TYPES` from the standard
    library and the loaded libraries (``loaded``: one flag per :data:`_LIBRARIES` entry)."""
    skipped = {library for library, here in zip(_LIBRARIES, loaded, strict=True) if not here}

    def resolve(names: tuple[str, ...]) -> tuple[type[BaseException], ...]:
        found = []
        for name in names:
            module, _, attribute = name.rpartition(".")
            if module.partition(".")[0] not in skipped:
                found.append(getattr(importlib.import_module(module), attribute))
        return tuple(found)

    return resolve(NOT_SENT_TYPES), resolve(SENT_TYPES)


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
