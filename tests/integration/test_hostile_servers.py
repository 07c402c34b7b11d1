"""The transport against hostile servers (issue 11): real HTTP on loopback, nothing patched.

Redirects and off-origin links must not carry the key anywhere, error excerpts must not hold a
piece of it, cookies must not cross connections, every request ends by its total deadline (and
a poll by the wait's), a server's ``Retry-After`` cannot stall or crash a wait, bodies are
capped, and small streamed launches carry a ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from hostile_http import HostileServer, Received, drip, huge, respond

from airflow_provider_runs.core.errors import (
    AmbiguousWriteError,
    RedirectError,
    ResponseTooLargeError,
    RunsApiError,
    TransientError,
    UntrustedUrlError,
)
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.core.retry import NO_RETRY, RetryPolicy
from airflow_provider_runs.hooks.edges import EdgesHook, streamed_launch_body
from airflow_provider_runs.triggers.run_status import RunStatusTrigger, class_path

from emulation import connection_json
from support import first_event

KEY = "zq9XkW7vTt3LmN8pRr2Ss6Yy"
KEY_B = "Hh4GgJj5KkPp7QqWw8EeRr9T"


def edges_hook(monkeypatch, url, *, key=KEY, conn_id="edges_hostile", retry=NO_RETRY, **extra) -> EdgesHook:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json("edges", url, key, **extra))
    return EdgesHook(conn_id, retry=retry)


def assert_no_fragment(text: str, key: str = KEY, size: int = 5) -> None:
    """No run of ``size`` consecutive characters of the key appears in ``text``."""
    for i in range(len(key) - size + 1):
        assert key[i : i + size] not in text, f"key fragment {key[i : i + size]!r} in {text!r}"


def localhost(url: str) -> str:  # aiohttp's default jar ignores cookies from IP addresses
    return url.replace("127.0.0.1", "localhost")


# -- 1. redirects and next-page links ------------------------------------------------------
@pytest.mark.parametrize("status", [302, 307])
def test_sync_redirect_to_another_host_is_not_followed(monkeypatch, status):
    with HostileServer() as target:
        location = f"{target.url}/steal?key={KEY}"
        with HostileServer(respond(status, b"", {"Location": location})) as origin:
            hook = edges_hook(monkeypatch, origin.url)
            # A redirected create may have been processed (303 after a create): it is ambiguous,
            # so the operator looks its run up before writing again; the text names the Location.
            with pytest.raises(AmbiguousWriteError) as info:
                hook.send(ApiRequest("POST", "/actions/a/run/async", json_body={"inputs": [1]}))
            with pytest.raises(RedirectError) as read:
                hook.send(ApiRequest("GET", "/runs/r1", idempotent=True))
    assert target.received == []  # neither the key nor the body went there
    for text in (str(info.value), str(read.value)):
        assert f"127.0.0.1:{target.port}/steal" in text and str(status) in text
        assert_no_fragment(text)


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [302, 307])
async def test_async_redirect_to_another_host_is_not_followed(monkeypatch, status):
    with HostileServer() as target:
        location = f"{target.url}/steal?key={KEY}"
        with HostileServer(respond(status, b"", {"Location": location})) as origin:
            hook = edges_hook(monkeypatch, origin.url)
            with pytest.raises(AmbiguousWriteError) as info:
                await hook.asend(ApiRequest("POST", "/actions/a/run/async", json_body={"inputs": [1]}))
            with pytest.raises(RedirectError):
                await hook.aget_run_status("r1")
    assert target.received == []
    assert_no_fragment(str(info.value))


def test_next_page_on_another_origin_is_not_followed(monkeypatch):
    with HostileServer() as target:
        page = respond(200, [{"n": 1}], {"X-Pagination-Next": f"{target.url}/v1/runs/r1/outputs?c=2"})
        with HostileServer(page) as origin:
            hook = edges_hook(monkeypatch, origin.url)
            outputs = hook.iter_outputs("r1")
            assert next(outputs) == {"n": 1}
            with pytest.raises(UntrustedUrlError) as info:
                next(outputs)
    assert target.received == []
    assert f"127.0.0.1:{target.port}" in str(info.value)
    assert len(origin.received) == 1


def test_next_page_on_the_same_origin_is_followed(monkeypatch):
    def pages(req: Received):
        if "c=2" in req.path:
            return respond(200, [{"n": 2}])
        return respond(200, [{"n": 1}], {"X-Pagination-Next": f"{server.url}/runs/r1/outputs?c=2"})

    with HostileServer(pages, route=True) as server:
        hook = edges_hook(monkeypatch, server.url)
        assert list(hook.iter_outputs("r1")) == [{"n": 1}, {"n": 2}]
    assert all(r.headers["x-api-key"] == KEY for r in server.received)


# -- 2. key fragments in error texts -------------------------------------------------------
def test_key_straddling_the_excerpt_cut_is_redacted(monkeypatch, caplog):
    body = "<html>" + "y" * 180 + KEY  # the key starts 14 characters before the 200-character cut
    retry = RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.001)
    with HostileServer(respond(200, body)) as server, caplog.at_level(logging.WARNING):
        hook = edges_hook(monkeypatch, server.url, retry=retry)
        with pytest.raises(TransientError) as info:
            hook.send(ApiRequest("GET", "/runs"))
    assert len(server.received) == 2  # retried once: the warning quotes the error
    assert_no_fragment(str(info.value))
    assert_no_fragment(caplog.text)


def test_key_straddling_the_error_message_cut_is_redacted(monkeypatch):
    with HostileServer(respond(400, "x" * 490 + KEY)) as server:
        hook = edges_hook(monkeypatch, server.url)
        with pytest.raises(RunsApiError) as info:
            hook.send(ApiRequest("GET", "/runs"))
    assert info.value.status_code == 400
    assert_no_fragment(str(info.value))


@pytest.mark.asyncio
async def test_key_straddling_the_excerpt_cut_is_redacted_async(monkeypatch):
    with HostileServer(respond(200, "<html>" + "y" * 180 + KEY)) as server:
        hook = edges_hook(monkeypatch, server.url)
        with pytest.raises(TransientError) as info:
            await hook.asend(ApiRequest("GET", "/runs"))
    assert_no_fragment(str(info.value))


# -- 3. cookies ------------------------------------------------------------------------------
def test_sync_session_never_sends_cookies_back(monkeypatch):
    with HostileServer(respond(200, {"status": "RUNNING"}, {"Set-Cookie": "sid=from-a; Path=/"})) as server:
        hook = edges_hook(monkeypatch, localhost(server.url))
        hook.get_run_status("r1")
        hook.get_run_status("r1")
    assert len(server.received) == 2
    assert all("cookie" not in r.headers for r in server.received)


@pytest.mark.asyncio
async def test_async_shared_session_keeps_no_cookie_between_keys(monkeypatch):
    with HostileServer(respond(200, {"status": "RUNNING"}, {"Set-Cookie": "sid=from-a; Path=/"})) as server:
        hook_a = edges_hook(monkeypatch, localhost(server.url), conn_id="edges_key_a")
        hook_b = edges_hook(monkeypatch, localhost(server.url), key=KEY_B, conn_id="edges_key_b")
        await hook_a.aget_run_status("r1")
        await hook_b.aget_run_status("r1")
        await hook_a.aget_run_status("r1")
    assert [r.headers["x-api-key"] for r in server.received] == [KEY, KEY_B, KEY]
    assert all("cookie" not in r.headers for r in server.received)


# -- 7. total deadlines ----------------------------------------------------------------------
def test_sync_request_ends_at_its_total_timeout(monkeypatch):
    with HostileServer(drip()) as server:
        hook = edges_hook(monkeypatch, server.url, total_timeout=1.0)
        start = time.monotonic()
        with pytest.raises(TransientError) as info:
            hook.get_run_status("r1")
        elapsed = time.monotonic() - start
    assert elapsed < 2.5, elapsed
    assert "1.0s" in str(info.value)


@pytest.mark.asyncio
async def test_async_request_ends_at_its_total_timeout(monkeypatch):
    with HostileServer(drip()) as server:
        hook = edges_hook(monkeypatch, server.url, total_timeout=1.0)
        start = time.monotonic()
        with pytest.raises(TransientError):
            await hook.aget_run_status("r1")
        elapsed = time.monotonic() - start
    assert elapsed < 2.5, elapsed


@pytest.mark.asyncio
async def test_trigger_poll_in_flight_ends_at_the_deadline(monkeypatch):
    with HostileServer(drip()) as server:
        edges_hook(monkeypatch, server.url)  # default total_timeout: only the deadline cuts the poll
        trigger = RunStatusTrigger(
            hook_class=class_path(EdgesHook),
            conn_id="edges_hostile",
            run_id="r1",
            poll_interval=0.1,
            deadline=time.time() + 1.5,
        )
        start = time.monotonic()
        event = await first_event(trigger, timeout=20)
        elapsed = time.monotonic() - start
    assert event.payload["event"] == "timeout", event.payload
    assert elapsed < 3.0, elapsed


def test_worker_poll_in_flight_ends_at_the_deadline(monkeypatch):
    from airflow_provider_runs.core.http import call_with_deadline

    with HostileServer(drip()) as server:
        hook = edges_hook(monkeypatch, server.url)
        start = time.monotonic()
        with pytest.raises(TransientError):
            call_with_deadline(time.time() + 1.0, hook.get_status, "r1")
        elapsed = time.monotonic() - start
        with pytest.raises(TransientError, match="deadline"):  # past it: nothing is sent
            call_with_deadline(time.time() - 1, hook.get_status, "r1")
    assert elapsed < 2.5, elapsed
    assert len(server.received) == 1


# -- 8. Retry-After ------------------------------------------------------------------------
@pytest.mark.asyncio
@pytest.mark.parametrize("retry_after", ["inf", "nan", "1e12", "1000000000", "Fri, 01 Jan 2100 00:00:00 GMT"])
async def test_trigger_survives_any_retry_after(monkeypatch, retry_after):
    with HostileServer(respond(429, {"error": "slow down"}, {"Retry-After": retry_after})) as server:
        edges_hook(monkeypatch, server.url)
        trigger = RunStatusTrigger(
            hook_class=class_path(EdgesHook),
            conn_id="edges_hostile",
            run_id="r1",
            poll_interval=0.05,
            deadline=time.time() + 1.0,
        )
        start = time.monotonic()
        event = await first_event(trigger, timeout=20)
    assert event.payload["event"] in {"timeout", "error"}, event.payload
    assert time.monotonic() - start < 3.0


@pytest.mark.asyncio
async def test_trigger_without_deadline_does_not_crash_on_infinite_retry_after(monkeypatch):
    """``Retry-After: inf`` is ignored; the 429s are backpressure, so the trigger neither crashes nor
    gives up (not even past ``max_consecutive_failures``): it keeps polling, backing off."""
    with HostileServer(respond(429, {"error": "slow down"}, {"Retry-After": "inf"})) as server:
        edges_hook(monkeypatch, server.url)
        trigger = RunStatusTrigger(
            hook_class=class_path(EdgesHook),
            conn_id="edges_hostile",
            run_id="r1",
            poll_interval=0.05,
            max_consecutive_failures=2,
        )
        with pytest.raises((TimeoutError, asyncio.TimeoutError)):
            await first_event(trigger, timeout=1.5)
    assert 3 <= len(server.received) <= 15  # polled again and again, backing off


# -- 9. bounded bodies -----------------------------------------------------------------------
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_sync_body_is_capped(monkeypatch, chunked):
    with HostileServer(huge(5_000_000, chunked=chunked)) as server:
        hook = edges_hook(monkeypatch, server.url, max_response_bytes=1_000_000)
        with pytest.raises(ResponseTooLargeError) as info:
            hook.send(ApiRequest("GET", "/runs"))
    text = str(info.value)
    assert "1000000" in text and "max_response_bytes" in text
    assert info.value.retryable  # a proxy's error page passes; a cap that persists fails the wait
    assert_no_fragment(text)


@pytest.mark.asyncio
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_async_body_is_capped(monkeypatch, chunked):
    with HostileServer(huge(5_000_000, chunked=chunked)) as server:
        hook = edges_hook(monkeypatch, server.url, max_response_bytes=1_000_000)
        with pytest.raises(ResponseTooLargeError) as info:
            await hook.asend(ApiRequest("GET", "/runs"))
    assert "max_response_bytes" in str(info.value)


def test_huge_error_body_still_gives_the_http_error(monkeypatch):
    with HostileServer(huge(3_000_000, status=503)) as server:
        hook = edges_hook(monkeypatch, server.url, max_response_bytes=1_000_000)
        with pytest.raises(TransientError) as info:
            hook.send(ApiRequest("GET", "/runs"))
    assert info.value.status_code == 503


def test_bodies_under_the_cap_are_read_whole(monkeypatch):
    with HostileServer(huge(500_000)) as server:
        hook = edges_hook(monkeypatch, server.url, max_response_bytes=1_000_000)
        assert len(hook.send(ApiRequest("GET", "/runs")).body) > 100_000


# -- Content-Length on launches ----------------------------------------------------------------
def profiles(n: int) -> list[dict]:
    return [{"linkedin_profile_url": f"https://www.linkedin.com/in/p-{i}"} for i in range(n)]


def test_sync_launch_is_sent_with_a_content_length(monkeypatch):
    with HostileServer(respond(200, {"uid": "r1", "status": "QUEUED"})) as server:
        hook = edges_hook(monkeypatch, server.url)
        hook.run_async("linkedin-extract-people", profiles(1))
    (req,) = server.received
    assert not req.chunked and "transfer-encoding" not in req.headers
    assert int(req.headers["content-length"]) == len(req.body)
    assert json.loads(req.body)["inputs"] == profiles(1)


@pytest.mark.asyncio
async def test_async_launch_is_sent_with_a_content_length(monkeypatch):
    with HostileServer(respond(200, {"uid": "r1"})) as server:
        hook = edges_hook(monkeypatch, server.url)
        body = streamed_launch_body(lambda: profiles(3), {"name": "n"})
        await hook.asend(ApiRequest("POST", "/actions/a/run/async", json_body=body, idempotent=False))
    (req,) = server.received
    assert not req.chunked and int(req.headers["content-length"]) == len(req.body)
    assert json.loads(req.body) == {"inputs": profiles(3), "name": "n"}
