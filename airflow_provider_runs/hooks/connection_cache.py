"""Connection look-ups shared by the triggers of one event loop, for a short while.

Every trigger's hook reads its Airflow connection once. In a triggerer that is one look-up per
trigger (secrets backends, environment, or a round trip to the API server), and after a
triggerer restart thousands of triggers ask for the same few connections at the same moment.
They then start late and in step, and poll in bursts for the rest of their lives. Here the
look-ups of one connection on one event loop are merged: the first caller reads it, callers
arriving meanwhile wait for that read, and the result is reused for :data:`CACHE_SECONDS`, so a
changed connection (a rotated key) reaches new triggers within that time. A failed read is not
kept.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

CACHE_SECONDS = 30.0
"""How long a connection read on an event loop is reused by the triggers of that loop."""

ConnectionRead = tuple[Any, dict[str, Any]]
"""A connection and its decoded extra fields."""


@dataclass
class _Entry:
    read: asyncio.Task[ConnectionRead]
    expires_at: float


_CACHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[type, str], _Entry]] = (
    weakref.WeakKeyDictionary()
)


async def read_connection_shared(
    hook_class: type, conn_id: str, read: Callable[[], Coroutine[Any, Any, ConnectionRead]]
) -> ConnectionRead:
    """Return ``await read()`` for ``(hook_class, conn_id)``, shared with this loop's other callers.

    :param hook_class: the hook class (hooks may override how a connection is read).
    :param conn_id: the connection id.
    :param read: reads the connection and its extras when no fresh result is at hand.
    """
    loop = asyncio.get_running_loop()
    cache = _CACHES.setdefault(loop, {})
    key = (hook_class, conn_id)
    entry = cache.get(key)
    if entry is None or entry.expires_at <= loop.time():
        entry = _Entry(loop.create_task(read()), loop.time() + CACHE_SECONDS)
        cache[key] = entry
        entry.read.add_done_callback(functools.partial(_forget_failure, cache, key, entry))
    # shield: a cancelled caller (its trigger was stopped) does not cancel the others' read
    return await asyncio.shield(entry.read)


def _forget_failure(
    cache: dict[tuple[type, str], _Entry], key: tuple[type, str], entry: _Entry, _done: object = None
) -> None:
    task = entry.read
    if (task.cancelled() or task.exception() is not None) and cache.get(key) is entry:
        del cache[key]
