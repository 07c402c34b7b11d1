"""Background delivery of inference.sh task webhooks (only to loopback addresses)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlparse

import aiohttp

from airflow_provider_runs.testing.emulator.state import EmulatorState

LOOPBACK = ("127.0.0.1", "localhost", "::1")


async def deliver_webhooks(state: EmulatorState, services: dict[str, Any], interval: float = 0.1) -> None:
    """Forever: POST each finished task's bare DTO to its webhook once, and record the delivery."""
    async with aiohttp.ClientSession() as session:
        while True:
            emu = services.get("inference_sh")
            if emu is not None:
                now = emu.now
                for task in list(emu.tasks.values()):
                    if task.webhook and not task.webhook_done and task.is_terminal(now):
                        task.webhook_done = True
                        await _post(state, session, task.webhook, emu.task_dto(task), "inference_sh", task.id)
            for name, service in services.items():
                if name != "inference_sh" and hasattr(service, "due_webhooks"):
                    for url, body, ref in service.due_webhooks():
                        await _post(state, session, url, body, name, ref)
            await asyncio.sleep(interval)


async def _post(
    state: EmulatorState, session: aiohttp.ClientSession, url: str, body: Any, service: str, ref: str
):
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
