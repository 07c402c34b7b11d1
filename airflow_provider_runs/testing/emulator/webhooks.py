"""Background delivery of the services' webhooks and callbacks (only to loopback addresses)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlparse

import aiohttp

from airflow_provider_runs.testing.emulator.state import EmulatorState

LOOPBACK = ("127.0.0.1", "localhost", "::1")


async def deliver_webhooks(state: EmulatorState, interval: float = 0.1) -> None:
    """Forever: POST each notification a service owes (:meth:`.ServiceEmulator.due_webhooks`,
    each returned once) and record the delivery."""
    async with aiohttp.ClientSession() as session:
        while True:
            for name, emulator in list(state.emulators.items()):
                for url, body, ref in emulator.due_webhooks():
                    await _post(state, session, url, body, name, ref)
            await asyncio.sleep(interval)


async def _post(
    state: EmulatorState, session: aiohttp.ClientSession, url: str, body: Any, service: str, ref: str
) -> None:
    record: dict[str, Any] = {"service": service, "ref": ref, "url": url}
    host = urlparse(url).hostname or ""
    if host not in LOOPBACK:
        record.update(status=None, error="not delivered: the emulator only calls loopback addresses")
    else:
        try:
            async with session.post(
                url,
                data=json.dumps(body),
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=5),
            ) as resp:
                record["status"] = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            record.update(status=None, error=f"{type(exc).__name__}: {exc}")
    state.webhook_deliveries.append(record)
    state.count(service, "webhooks_sent")
