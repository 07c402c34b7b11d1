"""The field's bad days for the soak: a foreign host that redirects lead to, and hostile faults.

:class:`TrapServer` stands for "another host" (another origin on loopback): the soak's
redirect faults point at it, and it records every request it gets with the headers that would
carry a key. After the fix no request reaches it at all.

:func:`hostile_rules` adds, with small probabilities, the answers a hostile or broken server
gives: cross-origin 302/307 redirects, drip-fed bodies, bodies far over the response cap, and
``Retry-After`` values that are absurd (``inf``, ``1e12``, a date in 2100, ``nan``, negative).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AUTH_HEADERS = ("authorization", "x-api-key")
"""Headers that carry a key to one of the three services."""

EXTREME_RETRY_AFTER = ("inf", "1e12", "1000000000", "Fri, 01 Jan 2100 00:00:00 GMT", "nan", "-5")
"""``Retry-After`` values no client should obey as given."""


class TrapServer:
    """A loopback HTTP server on its own port (another origin) that records what reaches it."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        trap = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                trap.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "auth": {k: v for k, v in self.headers.items() if k.lower() in AUTH_HEADERS},
                        "body_bytes": len(body),
                    }
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TrapServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def leaked_keys(self, keys: list[str]) -> int:
        """How many requests that reached the trap carried one of ``keys``."""
        return sum(1 for r in self.requests if any(k in v for v in r["auth"].values() for k in keys))


def hostile_rules(trap_url: str, share: float = 0.02, extreme_retry_after: int = 6) -> list[dict[str, Any]]:
    """Rules for the hostile conditions, each hitting about ``share`` of the requests it matches.

    Redirects hit every route (a redirected create must neither be followed nor repeated);
    drips and huge bodies hit reads only (a create answered so is ambiguous, which the soak's
    plain drops already cover); each absurd ``Retry-After`` is sent ``extreme_retry_after``
    times at most, on reads.
    """
    rules: list[dict[str, Any]] = [
        {"kind": "redirect", "status": 302, "location": trap_url, "probability": share / 2},
        {"kind": "redirect", "status": 307, "location": trap_url, "probability": share / 2},
        {"kind": "drip", "method": "GET", "size": 64, "interval": 0.5, "probability": share},
        {"kind": "huge", "method": "GET", "size": 12 << 20, "probability": share},
    ]
    for value in EXTREME_RETRY_AFTER:
        rules.append(
            {
                "kind": "status",
                "status": 429,
                "method": "GET",
                "retry_after": value,
                "probability": share,
                "count": extreme_retry_after,
            }
        )
    return rules
