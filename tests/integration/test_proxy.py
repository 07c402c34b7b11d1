"""Both transports through a real local proxy (issue 14, section 3): the worker's (requests), the
deferrable path's (aiohttp) and the trigger's polls, with the connection's ``proxy`` extra and
with ``HTTP_PROXY`` in the environment; ``NO_PROXY``; the proxy's credentials; https through a
``CONNECT`` tunnel with a private CA bundle; ``verify``.

The emulator listens on ``127.0.0.1`` and the connections name that address. ``NO_PROXY`` is
matched against the host as the URL writes it (requests' rule, which both transports follow):
``localhost`` in ``NO_PROXY`` does not bypass ``http://127.0.0.1:...``, while ``127.0.0.1`` or a
CIDR range holding it does. Neither library bypasses loopback on its own on Linux (urllib's
macOS and Windows look-ups consult the system settings, which often do), but a CI machine's
``NO_PROXY=localhost,127.0.0.1`` would, so every test here sets the proxy variables itself.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from proxy_servers import ForwardingProxy, TlsApi

from airflow_provider_runs.core.errors import NotSentError, RunsApiError
from airflow_provider_runs.core.http import ApiRequest
from airflow_provider_runs.core.retry import NO_RETRY
from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.triggers.run_status import RunStatusTrigger

from support import TEST_KEY, first_event

PROXY_USER, PROXY_PASSWORD = "runs-user", "pr0xy-Pa55word"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def clean_proxy_env():
    """A ``MonkeyPatch`` for the proxy variables and connections of a test, with no proxy variable
    of the machine leaking in (upper or lower case); undone before the emulator's own teardown
    (whose control calls must not go to a stopped proxy)."""
    env = pytest.MonkeyPatch()
    for name in PROXY_VARIABLES:
        env.delenv(name, raising=False)
        env.delenv(name.lower(), raising=False)
    yield env
    env.undo()


@pytest.fixture
def proxy(clean_proxy_env):
    """A forwarding proxy that demands credentials."""
    with ForwardingProxy((PROXY_USER, PROXY_PASSWORD)) as server:
        yield server


def connect(monkeypatch, name, emulator, **extra):
    """``AIRFLOW_CONN_<NAME>``: inference.sh on the emulator with ``extra``."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{name.upper()}", emulator.connection("inference_sh", TEST_KEY, **extra))
    return name


def every_path(conn_id):
    """A task created and read by the worker's transport, read by the async one, and polled to its
    end by a ``RunStatusTrigger``: the number of requests each path made is what the caller checks."""
    hook = InferenceShHook(conn_id)
    task_id = hook.run_task("acme/echo@v1", {"text": "via proxy", "_emulator": {"duration": 0.2}})["id"]
    assert hook.get_status(task_id).raw_status is not None
    status = asyncio.run(InferenceShHook(conn_id).aget_status(task_id))
    assert status.raw_status is not None
    trigger = RunStatusTrigger(service="inference_sh", conn_id=conn_id, run_id=task_id, poll_interval=0.05)
    event = asyncio.run(first_event(trigger, timeout=30)).payload
    assert event["event"] == "status" and event["status"]["state"] == "SUCCEEDED", event
    return task_id


def steps_through(proxy, emulator):
    """The proxied requests by path: the create, the worker's read, the async read, the polls."""
    seen = proxy.forwarded(emulator.service_url("inference_sh"))
    assert seen, "nothing went through the proxy"
    return [(s.method, s.target.split("/", 3)[-1]) for s in seen]


def test_connection_proxy_carries_every_path(emulator, proxy, clean_proxy_env, caplog):
    caplog.set_level(logging.DEBUG)
    task_id = every_path(connect(clean_proxy_env, "runs_proxied", emulator, proxy=proxy.url))
    steps = steps_through(proxy, emulator)
    reads = [step for step in steps if step[0] == "GET" and task_id in step[1]]
    assert steps[0][0] == "POST" and len(reads) >= 2, steps  # the create, sync + async reads
    assert len(steps) >= 4, steps  # and at least one trigger poll (its own GET or a batch read)
    assert all(seen.headers["proxy-authorization"] == proxy.expected_auth for seen in proxy.seen)
    assert PROXY_PASSWORD not in caplog.text


def test_environment_proxy_carries_every_path(emulator, proxy, clean_proxy_env):
    clean_proxy_env.setenv("HTTP_PROXY", proxy.url)
    task_id = every_path(connect(clean_proxy_env, "runs_env_proxy", emulator))
    steps = steps_through(proxy, emulator)
    assert steps[0][0] == "POST" and len(steps) >= 4, steps
    assert sum(1 for method, path in steps if method == "GET" and task_id in path) >= 2, steps


@pytest.mark.parametrize(
    ("no_proxy", "proxied"),
    [
        ("127.0.0.1", False),
        ("example.com, 127.0.0.0/8", False),  # a CIDR range: requests' rule, on the async path too
        ("localhost", True),  # the URL says 127.0.0.1: not bypassed
    ],
)
def test_no_proxy_is_read_alike_by_both_transports(emulator, proxy, clean_proxy_env, no_proxy, proxied):
    clean_proxy_env.setenv("HTTP_PROXY", proxy.url)
    clean_proxy_env.setenv("NO_PROXY", no_proxy)
    conn_id = connect(clean_proxy_env, "runs_no_proxy", emulator)
    hook = InferenceShHook(conn_id, retry=NO_RETRY)
    task_id = hook.run_task("acme/echo@v1", {"text": "x"})["id"]
    sync_count = len(proxy.seen)
    asyncio.run(InferenceShHook(conn_id, retry=NO_RETRY).aget_status(task_id))
    assert (sync_count, len(proxy.seen)) == ((1, 2) if proxied else (0, 0))


def test_connection_proxy_wins_over_the_environment(emulator, proxy, clean_proxy_env):
    """A dead proxy in the environment and ``NO_PROXY`` naming the host: the connection's own proxy
    is used by both transports all the same."""
    clean_proxy_env.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    clean_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    conn_id = connect(clean_proxy_env, "runs_own_proxy", emulator, proxy=proxy.url)
    task_id = InferenceShHook(conn_id, retry=NO_RETRY).run_task("acme/echo@v1", {"text": "x"})["id"]
    asyncio.run(InferenceShHook(conn_id, retry=NO_RETRY).aget_status(task_id))
    assert len(proxy.forwarded(emulator.url)) == 2


def test_unreachable_or_refusing_proxy_is_an_error_without_its_password(emulator, clean_proxy_env, caplog):
    caplog.set_level(logging.DEBUG)
    dead = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:9"
    conn_id = connect(clean_proxy_env, "runs_dead_proxy", emulator, proxy=dead)
    with pytest.raises(NotSentError) as sync_err:
        InferenceShHook(conn_id, retry=NO_RETRY).get_status("task_1")
    with pytest.raises(NotSentError) as async_err:
        asyncio.run(InferenceShHook(conn_id, retry=NO_RETRY).aget_status("task_1"))
    with ForwardingProxy((PROXY_USER, "another-password")) as refusing:
        conn_id = connect(
            clean_proxy_env,
            "runs_refused",
            emulator,
            proxy=refusing.url.replace("another-password", PROXY_PASSWORD),
        )
        with pytest.raises(RunsApiError) as refused:
            InferenceShHook(conn_id, retry=NO_RETRY).get_status("task_1")
    assert refused.value.status_code == 407
    texts = [str(e.value) for e in (sync_err, async_err, refused)] + [caplog.text]
    assert all(PROXY_PASSWORD not in text for text in texts), texts


@pytest.fixture
def tls_api(tmp_path):
    with TlsApi(tmp_path) as server:
        yield server


def tls_hook(monkeypatch, api, **extra):
    conn = {"conn_type": "inference_sh", "host": api.url, "password": TEST_KEY, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_RUNS_TLS", json.dumps(conn))
    return InferenceShHook("runs_tls", retry=NO_RETRY)


def both(hook_factory):
    """``GET /ping`` through a fresh hook's sync transport, then another's async one."""
    ping = ApiRequest("GET", "/ping")
    sync = hook_factory().send(ping)

    async def read():
        return await hook_factory().asend(ping)

    return sync, asyncio.run(read())


def test_https_through_connect_keeps_the_key_inside_the_tunnel(proxy, tls_api, clean_proxy_env):
    def hook():
        return tls_hook(clean_proxy_env, tls_api, proxy=proxy.url, ca_bundle=tls_api.ca_file)

    answers = both(hook)
    assert [a.body for a in answers] == [{"ok": True, "path": "/ping"}] * 2
    connects = [seen for seen in proxy.seen if seen.method == "CONNECT"]
    assert [c.target for c in connects] == [f"127.0.0.1:{tls_api.port}"] * 2 and connects == proxy.seen
    for head in connects:  # the proxy's credentials, never the API key
        assert head.headers["proxy-authorization"] == proxy.expected_auth
        assert TEST_KEY not in json.dumps(head.headers)
    assert [s.headers["authorization"] for s in tls_api.seen] == [f"Bearer {TEST_KEY}"] * 2


def test_private_ca_needs_the_bundle_or_verify_false(tls_api, clean_proxy_env):
    with pytest.raises(RunsApiError, match="certificate verify failed"):
        tls_hook(clean_proxy_env, tls_api).send(ApiRequest("GET", "/ping"))
    with pytest.raises(RunsApiError, match="certificate verify failed"):
        asyncio.run(tls_hook(clean_proxy_env, tls_api).asend(ApiRequest("GET", "/ping")))
    assert tls_api.seen == []
    for extra in ({"ca_bundle": tls_api.ca_file}, {"verify": "false"}, {"verify": False}):
        answers = both(lambda extra=extra: tls_hook(clean_proxy_env, tls_api, **extra))
        assert [a.body["ok"] for a in answers] == [True, True], extra
