"""ASGI middleware: counts requests per service and route, injects faults.

A ``drop`` fault really breaks the connection: the middleware starts the response (headers
with a ``Content-Length``) and then aborts, so uvicorn closes the socket mid-response and the
client sees a disconnect or an incomplete read, as with a reset in production.
"""

from __future__ import annotations

import asyncio
from typing import Any

from airflow_provider_runs.testing.emulator.service import EmulatedService, FaultAnswer, service_for_path
from airflow_provider_runs.testing.emulator.state import EmulatorState, FaultRule


class DroppedConnection(Exception):
    """Raised on purpose to make the server close a connection without a complete response."""


def fault_answer(service: EmulatedService, status: int) -> FaultAnswer:
    """The answer of an injected ``status`` fault, in the service's own error shape."""
    return service.fault_body(status, f"injected fault: HTTP {status}")


class FaultMiddleware:
    """Count every service request and apply the fault rules of :class:`EmulatorState`."""

    def __init__(self, app: Any, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """The ASGI entry: count, maybe fault, else pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        emulated = service_for_path(self.state.services, path)
        if emulated is None:
            await self.app(scope, receive, send)
            return
        service = emulated.name
        subpath = path[len(emulated.prefix) :] or "/"
        method = scope["method"]
        state = self.state
        if state.faults:
            rule = state.pick_fault(service, method, subpath, "before")
            delayed: tuple = ()
            while rule is not None and rule.kind == "latency":  # then the other rules still roll
                state.faults_injected["latency"] += 1
                await asyncio.sleep(state.random.uniform(0, rule.latency))
                delayed = (*delayed, rule)
                rule = state.pick_fault(service, method, subpath, "before", exclude=delayed)
            if rule is not None:
                self._count(scope, emulated, method, subpath)
                await self._inject(rule, emulated, send, scope)
                return
        if state.faults and self._may_fault_after(service, method, subpath):
            await self._run_then_maybe_fault(scope, receive, send, emulated, method, subpath)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._count(scope, emulated, method, subpath)

    def _may_fault_after(self, service: str, method: str, subpath: str) -> bool:
        return any(
            r.phase == "after" and r.kind != "latency" and r.matches(service, method, subpath)
            for r in self.state.faults
        )

    async def _run_then_maybe_fault(
        self, scope: dict, receive: Any, send: Any, service: EmulatedService, method: str, subpath: str
    ) -> None:
        buffered: list[dict] = []

        async def capture(message: dict) -> None:
            buffered.append(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self._count(scope, service, method, subpath)
        rule = self.state.pick_fault(service.name, method, subpath, "after")
        if rule is not None:
            await self._inject(rule, service, send, scope)
            return
        for message in buffered:
            await send(message)

    def _count(self, scope: dict, service: EmulatedService, method: str, subpath: str) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or subpath
        if template.startswith(service.prefix):
            template = template[len(service.prefix) :] or "/"
        self.state.requests[service.name][f"{method} {template}"] += 1

    async def _inject(self, rule: FaultRule, service: EmulatedService, send: Any, scope: dict) -> None:
        if rule.kind in HOSTILE_KINDS:
            self.state.faults_injected[rule.kind] += 1
            await HOSTILE_KINDS[rule.kind](rule, send, scope)
            return
        if rule.kind == "drop":
            self.state.faults_injected["drop"] += 1
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"partial": ', "more_body": True})
            raise DroppedConnection("emulator: dropped the connection on purpose")
        if rule.kind == "body":
            self.state.faults_injected["body"] += 1
            raw = (rule.body or "").encode()
            await send({"type": "http.response.start", "status": int(rule.status),
                        "headers": [(b"content-type", rule.content_type.encode()),
                                    (b"content-length", str(len(raw)).encode())]})  # fmt: skip
            await send({"type": "http.response.body", "body": raw})
            return
        status = int(rule.status)
        self.state.faults_injected[str(status)] += 1
        answer = fault_answer(service, status)
        headers = [(b"content-type", answer.content_type.encode())]
        if rule.retry_after is not None:
            headers.append((b"retry-after", retry_after_text(rule.retry_after).encode()))
            if isinstance(rule.retry_after, str):  # sent as given: inf, 1e12, a date in 2100...
                self.state.faults_injected[f"retry_after={rule.retry_after}"] += 1
        headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})


def retry_after_text(value: float | str) -> str:
    """A ``Retry-After`` value as sent: whole seconds without a fraction; text as given."""
    if isinstance(value, str):
        return value
    return str(int(value) if float(value).is_integer() else value)


async def _redirect(rule: FaultRule, send: Any, scope: dict) -> None:
    """Answer with a 3xx pointing at ``rule.location`` plus the request's path and query."""
    target = (rule.location or "").rstrip("/") + scope["path"]
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    headers = [(b"location", target.encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": int(rule.status), "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _padding_json(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (at least the 8 of ``{"x":""}``)."""
    return b'{"x":"' + b"y" * max(0, size - 8) + b'"}'


async def _drip(rule: FaultRule, send: Any, scope: dict) -> None:
    """A 200 whose body comes one byte every ``rule.interval`` seconds (a stalled upstream)."""
    body = _padding_json(rule.size)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for i in range(len(body)):
        await send({"type": "http.response.body", "body": body[i : i + 1], "more_body": i < len(body) - 1})
        if i < len(body) - 1:
            await asyncio.sleep(rule.interval)


async def _huge(rule: FaultRule, send: Any, scope: dict) -> None:
    """A 200 of ``rule.size`` bytes of valid JSON, sent in 1 MiB pieces (never built whole)."""
    size = max(8, int(rule.size))
    chunk = 1 << 20
    headers = [(b"content-type", b"application/json"), (b"content-length", str(size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"x":"', "more_body": True})
    left = size - 8
    while left > 0:
        piece = min(chunk, left)
        await send({"type": "http.response.body", "body": b"y" * piece, "more_body": True})
        left -= piece
    await send({"type": "http.response.body", "body": b'"}'})


HOSTILE_KINDS = {"redirect": _redirect, "drip": _drip, "huge": _huge}
"""Fault kinds of a hostile server, by name."""
