"""Local stand-ins for what sits between a worker and a service: a forwarding HTTP proxy and a
TLS API with its own certificate authority. Real sockets on 127.0.0.1, random ports.

- :class:`ForwardingProxy` forwards absolute-form requests (``GET http://host:port/path``) to
  plain-http targets (one upstream connection per request), tunnels ``CONNECT host:port``, and
  records the head of every request it gets; with ``credentials`` it answers 407 to a request
  without the matching ``Proxy-Authorization``.
- :class:`TlsApi` answers every request with ``{"ok": true, "path": ...}`` over TLS with a
  certificate for ``127.0.0.1``/``localhost`` issued by a throw-away CA (:func:`make_ca`), and
  records the headers it got.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import json
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authorization",
        "proxy-authenticate",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


@dataclass
class Seen:
    """The head of one request a server got (header names lowercased)."""

    method: str
    target: str
    headers: dict[str, str]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _record(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.owner.seen.append(Seen(self.command, self.path, headers))

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ProxyHandler(_Handler):
    def _allowed(self) -> bool:
        self._record()
        expected = self.server.owner.expected_auth
        if expected is None or self.headers.get("Proxy-Authorization") == expected:
            return True
        self._reply(407, b"proxy authentication required", {"Proxy-Authenticate": 'Basic realm="test"'})
        return False

    def do_CONNECT(self) -> None:
        """Open a tunnel to ``host:port``."""
        if not self._allowed():
            return
        host, _, port = self.path.rpartition(":")
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        _pipe(self.connection, upstream)

    def _forward(self) -> None:
        if not self._allowed():
            return
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self._reply(400, b"absolute-form http:// targets only")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request(self.command, path or "/", body=body, headers=headers)
            resp = upstream.getresponse()
            data = resp.read()
            kept = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
        finally:
            upstream.close()
        self._reply(resp.status, data, kept)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


def _pipe(client: socket.socket, upstream: socket.socket, idle: float = 10.0) -> None:
    """Copy bytes both ways until either side closes (or ``idle`` seconds pass without any)."""
    try:
        while True:
            ready, _, _ = select.select([client, upstream], [], [], idle)
            if not ready:
                return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)
    except OSError:
        return
    finally:
        upstream.close()


class _Serving:
    """A :class:`_Server` in a daemon thread, stopped on exit."""

    def __init__(self, handler: type[_Handler]) -> None:
        self.seen: list[Seen] = []
        self._server = self._make_server(handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _make_server(self, handler: type[_Handler]) -> _Server:
        return _Server(("127.0.0.1", 0), handler)

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


class ForwardingProxy(_Serving):
    """A forwarding HTTP proxy (see the module's docstring).

    :param credentials: ``(user, password)`` the proxy demands; ``None``: none.
    """

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__(_ProxyHandler)
        self.credentials = credentials
        token = base64.b64encode(":".join(credentials).encode()).decode() if credentials else None
        self.expected_auth = f"Basic {token}" if token else None

    @property
    def url(self) -> str:
        """The proxy's URL, with its credentials when it demands some."""
        auth = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def forwarded(self, prefix: str) -> list[Seen]:
        """The requests forwarded to a URL starting with ``prefix`` (absolute form)."""
        return [seen for seen in self.seen if seen.target.startswith(prefix)]


class _TlsServer(_Server):
    context: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        try:  # the handshake in the request's thread: a client that gives up blocks no one
            tls = self.context.wrap_socket(request, server_side=True)
        except OSError:
            return
        self.RequestHandlerClass(tls, client_address, self)


class _ApiHandler(_Handler):
    def do_GET(self) -> None:
        """Answer ``{"ok": true, "path": ...}``."""
        self._record()
        self._reply(
            200, json.dumps({"ok": True, "path": self.path}).encode(), {"Content-Type": "application/json"}
        )


class TlsApi(_Serving):
    """A JSON API over TLS (see the module's docstring).

    :param directory: where the CA's and the server's PEM files are written.
    """

    def __init__(self, directory: Path) -> None:
        self.ca_file, cert_file, key_file = make_ca(directory)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert_file, key_file)
        super().__init__(_ApiHandler)

    def _make_server(self, handler: type[_Handler]) -> _Server:
        server = _TlsServer(("127.0.0.1", 0), handler)
        server.context = self._context
        return server

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"https://127.0.0.1:{self.port}"


def make_ca(directory: Path) -> tuple[str, str, str]:
    """A throw-away CA and a server certificate it issued for ``127.0.0.1`` and ``localhost``:
    the paths of the CA's certificate, the server's certificate and the server's key (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "runs test CA")])

    def builder(subject: str, public_key: Any) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        )

    ca = (
        builder("runs test CA", ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        builder("127.0.0.1", key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(paths[0]), str(paths[1]), str(paths[2])
