"""The blocking driver: one ``requests.Session`` per hook, for workers.

requests has no total timeout: the body is read in chunks and the deadline checked between reads,
each read waiting no longer than what is left.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import time

import requests
import tenacity
import urllib3

from airflow_provider_runs.core.errors import RunsApiError
from airflow_provider_runs.core.http.config import TransportConfig
from airflow_provider_runs.core.http.failures import reached_service
from airflow_provider_runs.core.http.request import ApiRequest, ApiResponse, encode_params, sync_body
from airflow_provider_runs.core.http.retrying import ambiguous, retrying_for
from airflow_provider_runs.core.limiter import WaitTooLong

READ_CHUNK = 64 * 1024
"""The most bytes one read of a response body asks for."""
_NO_COOKIES = http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
"""A cookie policy that accepts and returns no cookie: no state crosses requests or keys."""


class SyncTransport:
    """Blocking transport on one ``requests.Session`` (one per hook).

    :param config: the service connection settings.
    """

    def __init__(self, config: TransportConfig) -> None:
        self.config = config
        self.session = requests.Session()
        self.session.cookies.set_policy(_NO_COOKIES)  # never store nor send a cookie

    def send(self, req: ApiRequest) -> ApiResponse:
        """Send a request with retries (see :mod:`~airflow_provider_runs.core.http.retrying`);
        return the decoded 2xx response or raise a :class:`RunsApiError`."""
        retrying = retrying_for(self.config, req, tenacity.Retrying)
        try:
            return self._once(req) if retrying is None else retrying(self._once, req)
        except RunsApiError as exc:
            raise ambiguous(exc, req) from exc.__cause__

    def _once(self, req: ApiRequest) -> ApiResponse:
        """One attempt."""
        cfg = self.config
        method, path = req.method, req.path
        url = cfg.url(path)  # an off-origin URL raises here, before anything is sent
        budget, _ = cfg.budget(method, path, req.read_timeout)
        wait = cfg.reserve(req)
        if wait > 0.0 and cfg.limiter is not None:
            try:
                cfg.limiter.wait_turn(wait, cfg.limiter_wait_cap())
            except WaitTooLong as exc:
                raise cfg.budget_error(method, path, exc.wait) from None
            budget, _ = cfg.budget(method, path, req.read_timeout)
        end = time.monotonic() + budget
        read_t = min(req.read_timeout or cfg.read_timeout, budget)
        try:
            resp = self.session.request(
                method,
                url,
                params=encode_params(req.params),
                data=sync_body(req.json_body),
                headers=cfg.headers(req.headers, req.json_body is not None),
                timeout=(min(cfg.connect_timeout, budget), read_t),
                allow_redirects=False,
                stream=True,
                proxies=cfg.requests_proxies,  # per request: a session's proxies lose to the environment's
                verify=cfg.requests_verify,  # per request too: a session's lose to REQUESTS_CA_BUNDLE
            )
        except requests.exceptions.RequestException as exc:
            raise cfg.network_error(method, path, exc, sent=reached_service(exc)) from None
        done = False
        try:
            cfg.check_head(req, resp.status_code, resp.headers)
            try:
                raw = _read(resp, cfg, req, end, budget, read_t)
            except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
                if time.monotonic() >= end:  # the read was cut by the tightened socket timeout
                    raise cfg.deadline_error(method, path, budget) from None
                raise cfg.network_error(method, path, exc, sent=True) from None
            done = True
        finally:
            if done:
                resp.raw.release_conn()  # read to the end: the connection goes back to the pool
            else:
                resp.close()  # a body left unread: drop the connection
        return cfg.answer(req, resp.status_code, raw, resp.headers)

    def close(self) -> None:
        """Close the underlying session."""
        self.session.close()


def _read(
    resp: requests.Response,
    cfg: TransportConfig,
    req: ApiRequest,
    end: float,
    budget: float,
    read_timeout: float,
) -> bytes:
    """Read a streamed body in chunks, at most ``cfg.max_response_bytes`` (beyond: an error, or for
    an error status the first bytes) and no later than ``end`` (monotonic): each read waits no
    longer than what is left."""
    cap = cfg.max_response_bytes
    truncate = resp.status_code >= 400
    length = resp.headers.get("Content-Length", "")
    if not truncate and length.isdigit() and int(length) > cap:
        raise cfg.too_large_error(req.method, req.path, resp.status_code)
    raw = resp.raw
    read1 = getattr(raw, "read1", None)  # urllib3 2: returns what one socket read brought
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise cfg.deadline_error(req.method, req.path, budget)
        if sock is not None and remaining < read_timeout:
            with contextlib.suppress(OSError):
                sock.settimeout(remaining)
        chunk = read1(READ_CHUNK, decode_content=True) if read1 else raw.read(READ_CHUNK, decode_content=True)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            if truncate:
                chunks.append(chunk[: len(chunk) - (size - cap)])
                return b"".join(chunks)
            raise cfg.too_large_error(req.method, req.path, resp.status_code)
        chunks.append(chunk)
