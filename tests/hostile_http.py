"""A small hostile HTTP server for transport tests: real sockets on 127.0.0.1, a random port.

Each connection serves one request (``Connection: close``). The server records every request
(method, path, headers, body, whether it came chunked) and answers with a *behaviour*: a
function ``(request, conn) -> None`` that writes raw bytes, so a test can redirect, drip bytes,
send huge bodies, set cookies, send any ``Retry-After``.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    """One request as the server saw it (header names lowercased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    chunked: bool


Behaviour = Callable[[Received, socket.socket], None]


@dataclass
class Route:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)


def head(status: int, headers: dict[str, str] | None = None, *, length: int | None = None) -> bytes:
    """The status line and headers of a response (``Content-Length`` when ``length`` is given)."""
    lines = [f"HTTP/1.1 {status} X", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def respond(
    status: int = 200, body: bytes | str | Any = b"{}", headers: dict[str, str] | None = None
) -> Behaviour:
    """Answer with a fixed response (a non-bytes, non-str body is sent as JSON)."""
    if not isinstance(body, bytes | str):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    hdrs = {"Content-Type": "application/json", **(headers or {})}

    def behave(req: Received, conn: socket.socket) -> None:
        conn.sendall(head(status, hdrs, length=len(data)) + data)

    return behave


def drip(prefix: bytes = b"{", every: float = 0.3, declared: int = 1000, give_up: float = 6.0) -> Behaviour:
    """Send headers at once, then one byte every ``every`` seconds (for at most ``give_up``)."""

    def behave(req: Received, conn: socket.socket) -> None:
        conn.sendall(head(200, {"Content-Type": "application/json"}, length=declared) + prefix)
        end = time.monotonic() + give_up
        while time.monotonic() < end:
            time.sleep(every)
            conn.sendall(b" ")

    return behave


def huge(size: int, *, chunked: bool = False, status: int = 200) -> Behaviour:
    """A valid JSON array of ``size`` bytes or so, with a Content-Length or chunked."""

    def pieces() -> Iterable[bytes]:
        yield b"["
        block = b"0," * 32768
        sent = 1
        while sent + len(block) < size:
            yield block
            sent += len(block)
        yield b"0]"

    def behave(req: Received, conn: socket.socket) -> None:
        if not chunked:
            total = sum(len(p) for p in pieces())
            conn.sendall(head(status, {"Content-Type": "application/json"}, length=total))
            for piece in pieces():
                conn.sendall(piece)
            return
        conn.sendall(head(status, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}))
        for piece in pieces():
            conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        conn.sendall(b"0\r\n\r\n")

    return behave


class HostileServer:
    """A threaded raw HTTP server; ``behaviour(req)`` picks how to answer each request.

    :param behaviour: a :data:`Behaviour`, or a callable ``(Received) -> Behaviour`` when
        ``route=True`` (to answer by path or request number).
    """

    def __init__(self, behaviour: Any = None, *, route: bool = False) -> None:
        self.behaviour = behaviour or respond()
        self.route = route
        self.received: list[Received] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            req = _read_request(conn)
        except (OSError, ValueError):
            return
        self.received.append(req)
        behaviour = self.behaviour(req) if self.route else self.behaviour
        with contextlib.suppress(OSError):  # the client went away: what a hostile test expects
            behaviour(req, conn)


def _read_request(conn: socket.socket) -> Received:
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            raise ValueError("closed before the headers")
        data += more
    header_blob, rest = data.split(b"\r\n\r\n", 1)
    lines = header_blob.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    reader = _Reader(conn, rest)
    if chunked:
        body = b""
        while True:
            size = int(reader.line().split(b";")[0], 16)
            if size == 0:
                reader.line()
                break
            body += reader.exactly(size)
            reader.line()
    else:
        body = reader.exactly(int(headers.get("content-length", "0") or 0))
    return Received(method, path, headers, body, chunked)


class _Reader:
    def __init__(self, conn: socket.socket, buffered: bytes) -> None:
        self.conn, self.buf = conn, buffered

    def _fill(self) -> None:
        more = self.conn.recv(65536)
        if not more:
            raise ValueError("closed mid-body")
        self.buf += more

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out
