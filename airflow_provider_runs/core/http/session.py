"""The ``aiohttp.ClientSession`` shared by every async transport of an event loop.

All triggers of a triggerer share it: authentication goes in per-request headers, the proxy and
the TLS trust are per-request arguments (:mod:`~airflow_provider_runs.core.http.network`; no
``trust_env``), and no cookie is ever kept, so triggers of different connections can share it.
It is closed when the loop shuts down its async generators (``asyncio.run`` and
``asyncio.Runner`` do).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator

import aiohttp

MAX_CONNECTIONS = 100
"""Connection pool size of the shared session (per event loop)."""

_SESSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)
_GUARDS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
    weakref.WeakKeyDictionary()
)
"""The loop's closing guard (:func:`_close_on_shutdown`), held here: the loop tracks it weakly."""
_LAST: tuple[weakref.ref[asyncio.AbstractEventLoop], aiohttp.ClientSession] | None = None
"""The last loop asked for and its session: every poll asks, nearly always from the same loop."""


async def _close_on_shutdown(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """An async generator whose ``finally`` closes the session at ``loop.shutdown_asyncgens()``."""
    try:
        yield
    finally:
        await session.close()


def cached_session() -> aiohttp.ClientSession | None:
    """The running loop's shared session when it is the last one handed out and still open (the
    hot path: no coroutine); ``None`` otherwise (then ask :func:`shared_session`)."""
    last = _LAST
    if last is not None and last[0]() is asyncio.get_running_loop() and not last[1].closed:
        return last[1]
    return None


async def shared_session() -> aiohttp.ClientSession:
    """Return the event loop's shared ``aiohttp.ClientSession``, creating it on first use."""
    global _LAST
    loop = asyncio.get_running_loop()
    session = _SESSIONS.get(loop)
    if session is None or session.closed:
        # No ``skip_auto_headers``: every request carries its own User-Agent, and that option
        # sends each request through aiohttp's slow header path (a sorted copy per request).
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, ttl_dns_cache=300),
            cookie_jar=aiohttp.DummyCookieJar(),  # shared by every connection: no cookie crosses keys
            trust_env=False,  # proxies are resolved once per connection (network.py), not per request
        )
        _SESSIONS[loop] = session
        guard = _close_on_shutdown(session)
        await anext(guard)
        _GUARDS[loop] = guard
    _LAST = (weakref.ref(loop), session)
    return session
