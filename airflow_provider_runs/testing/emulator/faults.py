"""ASGI middleware: counts requests per service and route, injects faults.

A ``drop`` fault really breaks the connection: the middleware starts the response (headers
with a ``Content-Length``) and then aborts, so uvicorn closes the socket mid-response and the
client sees a disconnect or an incomplete read, as with a reset in production.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from airflow_provider_runs.testing.emulator.state import (
    PREFIX_OF,
    EmulatorState,
    FaultRule,
    service_of,
)


class DroppedConnection(Exception):
    """Raised on purpose to make the server close a connection without a complete response."""


def fault_body(service: str | None, status: int) -> bytes:
    """An error body in the service's own shape."""
    message = f"injected fault: HTTP {status}"
    if service == "inference_sh":
        code = {429: "rate_limited", 500: "internal_error", 503: "app_maintenance"}.get(
            status, "internal_error"
        )
        body: dict[str, Any] = {
            "type": f"https://api.inference.sh/errors/{code}",
            "title": "Injected fault",
            "status": status,
            "detail": message,
        }
    elif service == "inferable":
        body = {"error": {"message": "Internal server error" if status >= 500 else message}}
    elif service == "edges":
        label = "STATUS_429" if status == 429 else "GENERIC_ERROR"
        body = {
            "error_label": label,
            "error_scope": "server",
            "message": message,
            "status_code": status,
            "params": {},
        }
    else:
        body = {"detail": message}
    return json.dumps(body).encode()


class FaultMiddleware:
    """Count every service request and apply the fault rules of :class:`EmulatorState`."""

    def __init__(self, app: Any, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        service = service_of(path)
        if service is None:
            await self.app(scope, receive, send)
            return
        prefix = PREFIX_OF[service]
        subpath = path[len(prefix) :] or "/"
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
                self._count(scope, service, method, subpath)
                await self._inject(rule, service, send)
                return
        if state.faults and self._may_fault_after(service, method, subpath):
            await self._run_then_maybe_fault(scope, receive, send, service, method, subpath)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._count(scope, service, method, subpath)

    def _may_fault_after(self, service: str, method: str, subpath: str) -> bool:
        return any(
            r.phase == "after" and r.kind != "latency" and r.matches(service, method, subpath)
            for r in self.state.faults
        )

    async def _run_then_maybe_fault(self, scope, receive, send, service, method, subpath) -> None:
        buffered: list[dict] = []

        async def capture(message: dict) -> None:
            buffered.append(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self._count(scope, service, method, subpath)
        rule = self.state.pick_fault(service, method, subpath, "after")
        if rule is not None:
            await self._inject(rule, service, send)
            return
        for message in buffered:
            await send(message)

    def _count(self, scope: dict, service: str, method: str, subpath: str) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or subpath
        prefix = PREFIX_OF[service]
        if template.startswith(prefix):
            template = template[len(prefix) :] or "/"
        self.state.requests[service][f"{method} {template}"] += 1

    async def _inject(self, rule: FaultRule, service: str, send: Any) -> None:
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
        headers = [
            (
                b"content-type",
                b"application/problem+json" if service == "inference_sh" else b"application/json",
            )
        ]
        if rule.retry_after is not None:
            headers.append(
                (
                    b"retry-after",
                    str(
                        int(rule.retry_after) if float(rule.retry_after).is_integer() else rule.retry_after
                    ).encode(),
                )
            )
        body = fault_body(service, status)
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
