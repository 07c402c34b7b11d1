"""Transport limits without a network: Retry-After clamping, sane sleeps, redact-then-cut,
origin checks, request deadlines, small streamed bodies sent whole, and the trigger loop that
turns any exception into an event (issue 11)."""

from __future__ import annotations

import asyncio
import json
import math
import socket
import ssl
import time
from http.client import RemoteDisconnected

import aiohttp
import pytest
import requests
import urllib3

from airflow_provider_runs.core import errors, http, retry, timers
from airflow_provider_runs.core.errors import NotSentError, RateLimitedError, RunsApiError
from airflow_provider_runs.core.http import (
    ApiRequest,
    AsyncTransport,
    StreamedJson,
    SyncTransport,
    TransportConfig,
    reached_service,
)
from airflow_provider_runs.core.http import request as http_request
from airflow_provider_runs.core.redaction import Redactor
from airflow_provider_runs.core.retry import NO_RETRY, RetryPolicy, parse_retry_after
from airflow_provider_runs.triggers.run_status import RunStatusTrigger
from airflow_provider_runs.waiting.waiter import RunWaiter

from support import first_event

KEY = "zq9XkW7vTt3LmN8pRr2Ss6Yy"


def config(**kw) -> TransportConfig:
    return TransportConfig("edges", "https://api.example.com/v1", {"X-API-Key": KEY}, secrets=(KEY,), **kw)


def assert_no_fragment(text: str, size: int = 5) -> None:
    for i in range(len(KEY) - size + 1):
        assert KEY[i : i + size] not in text, text


# -- 8. Retry-After and sleeps ---------------------------------------------------------------
@pytest.mark.parametrize("value", ["1000000000", "1e12", "1e308", "Fri, 01 Jan 2100 00:00:00 GMT"])
def test_huge_retry_after_is_clamped(value):
    seconds = parse_retry_after(value)
    assert seconds is not None and 0 <= seconds <= 86400


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-5", "Infinity"])
def test_non_finite_or_negative_retry_after_is_ignored(value):
    assert parse_retry_after(value) is None


def test_retry_after_in_the_past_means_now():
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT") == 0.0


@pytest.mark.parametrize("retry_after", [1e12, math.inf, math.nan, -3.0])
def test_backoff_never_exceeds_max_retry_after(retry_after):
    sleep = RetryPolicy(max_retry_after=120).backoff(1, retry_after)
    assert 0 <= sleep <= 120


@pytest.mark.parametrize("retry_after", [1e12, 1e9, math.inf, math.nan])
def test_waiter_sleep_is_finite_and_bounded(retry_after):
    waiter = RunWaiter("r", poll_interval=1, deadline=None)
    sleep = waiter.on_error(RateLimitedError("slow", retry_after=retry_after)).sleep
    assert 0 <= sleep <= 600
    time.sleep(min(sleep, 0))  # time.sleep takes it (1e12 raised OverflowError)
    with_deadline = RunWaiter("r", poll_interval=1, deadline=time.time() + 2)
    assert with_deadline.on_error(RateLimitedError("slow", retry_after=retry_after)).sleep <= 2


def test_coalesced_wake_time_takes_any_float():
    assert math.isfinite(timers.coalesced_wake_time(10.0, math.inf))
    assert timers.coalesced_wake_time(10.0, math.nan) == 10.0


@pytest.mark.asyncio
async def test_coalesced_sleep_takes_any_float():
    await asyncio.wait_for(timers.coalesced_sleep(math.nan), 1)
    await asyncio.wait_for(timers.coalesced_sleep(-1e300), 1)
    with pytest.raises(asyncio.TimeoutError):  # sleeping (cut to a day), not OverflowError
        await asyncio.wait_for(timers.coalesced_sleep(math.inf), 0.05)


@pytest.mark.asyncio
async def test_trigger_turns_an_exception_anywhere_in_its_loop_into_an_error_event(monkeypatch):
    def broken(self):
        raise RuntimeError("deadline check blew up")

    monkeypatch.setattr(RunWaiter, "check_deadline", broken)
    trigger = RunStatusTrigger(hook_class="x.Y", conn_id="c", run_id="r1", deadline=time.time() + 60)
    event = await first_event(trigger, timeout=5)
    assert event.payload["event"] == "error"
    assert "deadline check blew up" in event.payload["message"]


# -- 2. redact, then cut ---------------------------------------------------------------------
def test_excerpt_redacts_before_cutting():
    redact = Redactor([KEY])
    text = "y" * 190 + KEY + "z" * 10
    assert redact.excerpt(text, 200) == "y" * 190 + "***" + "z" * 7
    # a second key pulled into the excerpt by the first replacement is redacted too
    assert_no_fragment(redact.excerpt("y" * 190 + KEY + "q" * 3 + KEY, 200))


def test_malformed_body_excerpt_never_holds_a_key_fragment():
    cfg = config()
    for offset in range(170, 200):
        with pytest.raises(RunsApiError) as info:
            cfg.decode("GET", "/runs", 200, "<" + "y" * offset + KEY, {})
        assert_no_fragment(str(info.value))


def test_error_parser_sees_a_redacted_body():
    seen = []

    def parser(status, body, text):
        seen.append(text)
        return text[:500], None

    cfg = config(error_parser=parser)
    err = cfg.http_error("GET", "/runs", 500, "x" * 490 + KEY, {})
    assert KEY not in seen[0]
    assert_no_fragment(str(err))


# -- 1. origins ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v1/runs?cursor=2",
        "https://API.example.com:443/v1/runs",
        "https://api.example.com/other/path",
    ],
)
def test_same_origin_urls_are_followed(url):
    assert config().url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.net/v1/runs",
        "http://api.example.com/v1/runs",  # scheme
        "https://api.example.com:8443/v1/runs",  # port
        "https://api.example.com@evil.example.net/v1/runs",  # user info trick
        "https://user:pw@api.example.com/v1/runs",
        "ftp://api.example.com/v1/runs",
        "HTTPS://evil.example.net/v1/runs",
    ],
)
def test_other_origins_are_refused_before_sending(url):
    with pytest.raises(errors.UntrustedUrlError) as info:
        config().url(url + f"?token={KEY}")
    assert_no_fragment(str(info.value))
    assert not info.value.retryable


def test_redirect_error_names_the_location_without_secrets():
    err = config().redirect_error("GET", "/runs", 302, f"https://x:{KEY}@evil.example.net/a?k={KEY}")
    assert "https://evil.example.net/a?..." in str(err)
    assert_no_fragment(str(err))


# -- 7. request deadlines --------------------------------------------------------------------
def test_request_deadline_cuts_the_budget_and_nests_to_the_earlier():
    cfg = config(total_timeout=30)
    assert cfg.budget("GET", "/x", None) == (30, False)
    assert cfg.budget("GET", "/x", 300) == (300, False)  # a long poll keeps its read timeout
    with http.request_deadline(time.time() + 5, enforced=True):
        budget, enforced = cfg.budget("GET", "/x", None)
        assert 4 < budget <= 5 and enforced
        with http.request_deadline(time.time() + 100):
            assert cfg.budget("GET", "/x", None)[0] <= 5
    with http.request_deadline(time.time() - 1), pytest.raises(NotSentError):
        cfg.budget("GET", "/x", None)


# -- Content-Length --------------------------------------------------------------------------
def test_small_streamed_bodies_are_sent_whole_and_big_ones_streamed(monkeypatch):
    body = StreamedJson(lambda: [b'{"inputs":[', b"1,2", b"]}"])
    assert http_request.sync_body(body) == b'{"inputs":[1,2]}'
    monkeypatch.setattr(http_request, "MAX_BUFFERED_BODY", 5)
    streamed = http_request.sync_body(body)
    assert not isinstance(streamed, bytes)
    assert json.loads(b"".join(streamed)) == {"inputs": [1, 2]}


def test_defaults_are_sane():
    cfg = config()
    assert cfg.total_timeout == http.DEFAULT_TOTAL_TIMEOUT >= 300
    assert cfg.max_response_bytes == http.DEFAULT_MAX_RESPONSE_BYTES
    assert retry.MAX_RETRY_AFTER == 86400


# -- sent or not sent: decided by the exception's types, through its whole chain ---------------
def _refused_connect() -> urllib3.exceptions.NewConnectionError:
    err = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    err.__context__ = ConnectionRefusedError(111, "Connection refused")
    return err


def _wrapped(reason: BaseException) -> requests.exceptions.ConnectionError:
    """What requests raises: its ConnectionError around urllib3's MaxRetryError around the reason."""
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", reason))


def _chained(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    "exc",
    [
        _wrapped(_refused_connect()),
        _wrapped(urllib3.exceptions.NameResolutionError("nowhere.invalid", None, socket.gaierror(-2))),
        requests.exceptions.ConnectTimeout(_wrapped(urllib3.exceptions.ConnectTimeoutError(None, "slow"))),
        urllib3.exceptions.ConnectTimeoutError(None, "connect timed out"),
        ConnectionRefusedError(111, "Connection refused"),
        _chained(RuntimeError("lookup failed"), socket.gaierror(-2, "Name or service not known")),
        aiohttp.ConnectionTimeoutError("Connection timeout to host"),
        requests.exceptions.SSLError(
            urllib3.exceptions.MaxRetryError(
                None, "/x", urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(1, "verify failed"))
            )
        ),
    ],
    ids=[
        "refused",
        "dns",
        "connect-timeout",
        "urllib3-connect-timeout",
        "bare-refused",
        "gaierror",
        "aiohttp",
        "certificate-refused",
    ],
)
def test_failures_before_the_request_left_are_not_sent(exc):
    assert reached_service(exc) is False


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectionError(
            urllib3.exceptions.ProtocolError("Connection aborted.", RemoteDisconnected("closed"))
        ),
        RemoteDisconnected("Remote end closed connection without response"),
        requests.exceptions.ReadTimeout(urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out")),
        urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out"),
        aiohttp.ServerTimeoutError("Timeout on reading data from socket"),
        aiohttp.ServerDisconnectedError(),
        requests.exceptions.ChunkedEncodingError("broken body"),
        # a sent marker wins over a refusal met on the way (the write may have landed)
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionRefusedError(111, "refused")),
    ],
    ids=[
        "reset",
        "remote-disconnected",
        "read-timeout",
        "urllib3-read-timeout",
        "aiohttp-read",
        "aiohttp-drop",
        "unknown",
        "sent-wins",
    ],
)
def test_failures_after_the_request_left_or_unknown_count_as_sent(exc):
    assert reached_service(exc) is True


def test_the_chain_walk_ends_on_cycles():
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__context__, second.__context__ = second, first
    assert reached_service(first) is True  # nothing known: sent


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_write_to_a_refused_port_is_not_sent_nor_ambiguous():
    cfg = TransportConfig("edges", f"http://127.0.0.1:{_closed_port()}", {}, retry=NO_RETRY)
    with pytest.raises(NotSentError) as info:
        SyncTransport(cfg).send(ApiRequest("POST", "/runs", json_body={"x": 1}))
    assert not isinstance(info.value, errors.AmbiguousWriteError)


@pytest.mark.asyncio
async def test_an_async_write_to_a_refused_port_is_not_sent_nor_ambiguous():
    cfg = TransportConfig("edges", f"http://127.0.0.1:{_closed_port()}", {}, retry=NO_RETRY)
    with pytest.raises(NotSentError) as info:
        await AsyncTransport(cfg).send(ApiRequest("POST", "/runs", json_body={"x": 1}))
    assert not isinstance(info.value, errors.AmbiguousWriteError)
