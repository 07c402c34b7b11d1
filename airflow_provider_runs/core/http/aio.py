"""The async driver: the event loop's shared ``aiohttp`` session, for triggers.

This is the triggerer's hot path (thousands of polls): one coroutine per attempt, the session
taken without a coroutine when the loop has one, timeouts and plain headers prebuilt, and the
request budget's token taken without a coroutine or a timer when one is there.
"""

from __future__ import annotations

import asyncio

import aiohttp
import tenacity

from airflow_provider_runs.core.errors import RunsApiError
from airflow_provider_runs.core.http.config import TransportConfig
from airflow_provider_runs.core.http.failures import reached_service
from airflow_provider_runs.core.http.request import ApiRequest, ApiResponse, async_body, encode_params
from airflow_provider_runs.core.http.retrying import ambiguous, retrying_for
from airflow_provider_runs.core.http.session import cached_session, shared_session
from airflow_provider_runs.core.limiter import WaitTooLong


class AsyncTransport:
    """Non-blocking transport on the event loop's shared ``aiohttp`` session.

    :param config: the service connection settings.
    """

    def __init__(self, config: TransportConfig) -> None:
        self.config = config
        self._timeouts: dict[tuple[float | None, bool], aiohttp.ClientTimeout] = {}

    async def send(self, req: ApiRequest) -> ApiResponse:
        """Send a request with retries (see :mod:`~airflow_provider_runs.core.http.retrying`);
        return the decoded 2xx response or raise a :class:`RunsApiError`."""
        retrying = retrying_for(self.config, req, tenacity.AsyncRetrying)
        try:
            return await (self._once(req) if retrying is None else retrying(self._once, req))
        except RunsApiError as exc:
            raise ambiguous(exc, req) from exc.__cause__

    def timeout(self, read_timeout: float | None, total: float | None) -> aiohttp.ClientTimeout:
        """The ``aiohttp.ClientTimeout`` for a read timeout and a total bound (``None``: the
        caller bounds the request itself); cached for the transport's own total."""
        cfg = self.config
        default_total = max(cfg.total_timeout, read_timeout or 0.0)
        if total is not None and total != default_total:  # cut to a deadline: not cached
            return aiohttp.ClientTimeout(
                total=total, sock_connect=cfg.connect_timeout, sock_read=read_timeout or cfg.read_timeout
            )
        key = (read_timeout, total is None)
        timeout = self._timeouts.get(key)
        if timeout is None:
            # sock_connect, not connect: ``connect`` also bounds the wait for a pooled connection,
            # which thousands of polling triggers legitimately queue for, and it arms a timer on
            # every request even when a pooled connection is reused.
            timeout = aiohttp.ClientTimeout(
                total=total, sock_connect=cfg.connect_timeout, sock_read=read_timeout or cfg.read_timeout
            )
            self._timeouts[key] = timeout
        return timeout

    async def _once(self, req: ApiRequest) -> ApiResponse:
        """One attempt."""
        cfg = self.config
        method, path = req.method, req.path
        url = cfg.url(path)  # an off-origin URL raises here, before anything is sent
        budget, enforced = cfg.budget(method, path, req.read_timeout)
        wait = cfg.reserve(req)  # no coroutine, no timer when a token is there
        if wait > 0.0 and cfg.limiter is not None:
            try:
                await cfg.limiter.await_turn(wait, cfg.limiter_wait_cap())
            except WaitTooLong as exc:
                raise cfg.budget_error(method, path, exc.wait) from None
            budget, enforced = cfg.budget(method, path, req.read_timeout)
        session = cached_session() or await shared_session()
        params, body = req.params, req.json_body
        try:
            async with session.request(
                method,
                url,
                params=None if params is None else encode_params(params),
                data=None if body is None else async_body(body),
                headers=cfg.headers(req.headers, body is not None),
                # the total deadline; no timer of ours when the caller cancels at it already
                timeout=self.timeout(req.read_timeout, None if enforced else budget),
                allow_redirects=False,
                proxy=cfg.proxy_url,  # per request: the session is shared by every connection
                ssl=cfg.ssl,
            ) as resp:
                status, headers = resp.status, resp.headers
                cfg.check_head(req, status, headers)
                raw = await _read(resp, cfg, req)
        except aiohttp.ClientError as exc:  # its timeouts (connect: not sent; read: sent) too
            raise cfg.network_error(method, path, exc, sent=reached_service(exc)) from None
        except asyncio.TimeoutError:
            raise cfg.deadline_error(method, path, budget) from None
        return cfg.answer(req, status, raw, headers)


async def _read(resp: aiohttp.ClientResponse, cfg: TransportConfig, req: ApiRequest) -> bytes:
    """Read a body, at most ``cfg.max_response_bytes`` (beyond: an error, or for an error status
    the first bytes). A plain body whose ``Content-Length`` is within the cap is read in one go
    (the common poll); anything else chunk by chunk."""
    cap = cfg.max_response_bytes
    truncate = resp.status >= 400
    length = resp.content_length
    if length is not None and "Content-Encoding" not in resp.headers:
        if length <= cap:
            return await resp.read()
        if not truncate:
            raise cfg.too_large_error(req.method, req.path, resp.status)
    chunks: list[bytes] = []
    size = 0
    while chunk := await resp.content.readany():
        size += len(chunk)
        if size > cap:
            if truncate:
                chunks.append(chunk[: len(chunk) - (size - cap)])
                break
            raise cfg.too_large_error(req.method, req.path, resp.status)
        chunks.append(chunk)
    return b"".join(chunks)
