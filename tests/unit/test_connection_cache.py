"""Shared connection reads: one read per connection and loop for a while, failures not kept."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_runs.hooks import connection_cache
from airflow_provider_runs.hooks.connection_cache import read_connection_shared


class _Reads:
    def __init__(self, fail_first: bool = False) -> None:
        self.calls = 0
        self.fail_first = fail_first

    async def __call__(self):
        self.calls += 1
        await asyncio.sleep(0.01)
        if self.fail_first and self.calls == 1:
            raise ValueError("secrets backend unavailable")
        return f"conn{self.calls}", {"n": self.calls}


class HookA:
    pass


class HookB:
    pass


def test_concurrent_reads_of_one_connection_are_merged():
    reads = _Reads()

    async def main():
        return await asyncio.gather(*(read_connection_shared(HookA, "c", reads) for _ in range(1000)))

    results = asyncio.run(main())
    assert reads.calls == 1
    assert set(r[0] for r in results) == {"conn1"}


def test_hook_classes_and_connections_are_read_separately():
    reads = _Reads()

    async def main():
        await read_connection_shared(HookA, "c", reads)
        await read_connection_shared(HookB, "c", reads)
        await read_connection_shared(HookA, "d", reads)
        await read_connection_shared(HookA, "c", reads)

    asyncio.run(main())
    assert reads.calls == 3


def test_each_event_loop_reads_for_itself():
    reads = _Reads()
    asyncio.run(read_connection_shared(HookA, "c", reads))
    asyncio.run(read_connection_shared(HookA, "c", reads))
    assert reads.calls == 2


def test_a_read_expires(monkeypatch):
    monkeypatch.setattr(connection_cache, "CACHE_SECONDS", 0.05)
    reads = _Reads()

    async def main():
        first = await read_connection_shared(HookA, "c", reads)
        await asyncio.sleep(0.1)
        return first, await read_connection_shared(HookA, "c", reads)

    first, second = asyncio.run(main())
    assert (first[0], second[0]) == ("conn1", "conn2")


def test_a_failed_read_reaches_every_waiter_and_is_not_kept():
    reads = _Reads(fail_first=True)

    async def main():
        results = await asyncio.gather(
            *(read_connection_shared(HookA, "c", reads) for _ in range(3)), return_exceptions=True
        )
        return results, await read_connection_shared(HookA, "c", reads)

    results, retried = asyncio.run(main())
    assert all(isinstance(r, ValueError) for r in results)
    assert retried[0] == "conn2" and reads.calls == 2


def test_a_cancelled_caller_does_not_cancel_the_others():
    reads = _Reads()

    async def main():
        first = asyncio.create_task(read_connection_shared(HookA, "c", reads))
        second = asyncio.create_task(read_connection_shared(HookA, "c", reads))
        await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await second

    assert asyncio.run(main())[0] == "conn1"
    assert reads.calls == 1
