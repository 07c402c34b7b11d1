"""A connection's transport settings (issue 14, section 3): shown in every service's form, read
from the extras with the hook's arguments first, checked naming the field before any HTTP call,
and handed to both transports (requests' ``proxies``/``verify``, aiohttp's ``proxy``/``ssl``)."""

from __future__ import annotations

import asyncio
import json
import ssl

import pytest
from airflow.providers.common.compat.sdk import redact
from hostile_http import HostileServer
from proxy_servers import make_ca

from airflow_provider_runs.core.http import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_TOTAL_TIMEOUT,
    TransportConfig,
    network,
)
from airflow_provider_runs.core.retry import DEFAULT_RETRY, NO_RETRY
from airflow_provider_runs.get_provider_info import get_provider_info
from airflow_provider_runs.hooks.edges import EdgesHook
from airflow_provider_runs.hooks.inference_sh import InferenceShHook
from airflow_provider_runs.services import BUILT_IN
from airflow_provider_runs.services.descriptor import TRANSPORT_FIELDS

KEY = "k_settings_0123456789"
FIELDS = {"proxy", "verify", "ca_bundle", "connect_timeout", "read_timeout", "total_timeout", "max_retries"}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def env(monkeypatch):
    """``monkeypatch`` with no proxy variable of the machine (upper or lower case)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def hook_with(env, extra, hook_class=EdgesHook, host="https://api.example.com", **kwargs):
    conn = {"conn_type": hook_class.conn_type, "host": host, "password": KEY, "extra": extra}
    env.setenv("AIRFLOW_CONN_RUNS_SETTINGS", json.dumps(conn))
    return hook_class("runs_settings", **kwargs)


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"))[0]


# -- the connection form --------------------------------------------------------------------------
def test_every_service_shows_the_transport_fields():
    from toy_service.descriptor import TOY

    for descriptor in (*BUILT_IN, TOY):
        assert descriptor.all_conn_fields().keys() >= FIELDS, descriptor.name
    for conn in get_provider_info()["connection-types"]:
        fields = conn["conn-fields"]
        assert fields.keys() >= FIELDS, conn["connection-type"]
        assert fields["verify"]["schema"]["type"] == ["boolean", "null"]
        assert fields["max_retries"]["schema"]["type"] == ["integer", "null"]


def test_the_forms_defaults_are_the_transports():
    described = {name: TRANSPORT_FIELDS[name]["description"] for name in FIELDS}
    for name, default in (
        ("connect_timeout", DEFAULT_CONNECT_TIMEOUT),
        ("read_timeout", DEFAULT_READ_TIMEOUT),
        ("total_timeout", DEFAULT_TOTAL_TIMEOUT),
        ("max_retries", DEFAULT_RETRY.max_attempts - 1),
    ):
        assert described[name].endswith(f"Empty: {default:g}.") or f"Empty: {default:g}. " in described[name]


def test_the_airflow_31_form_has_them_too():
    pytest.importorskip("wtforms")
    assert InferenceShHook.get_connection_form_widgets().keys() >= FIELDS


# -- from the extras, the hook's arguments first ------------------------------------------------------
def test_defaults(env):
    cfg = hook_with(env, {}).transport.config
    assert (cfg.connect_timeout, cfg.read_timeout, cfg.total_timeout) == (
        DEFAULT_CONNECT_TIMEOUT,
        DEFAULT_READ_TIMEOUT,
        DEFAULT_TOTAL_TIMEOUT,
    )
    assert cfg.retry is DEFAULT_RETRY and cfg.proxy_url is None
    assert (cfg.requests_proxies, cfg.requests_verify, cfg.ssl) == (None, True, True)


def test_extras_as_numbers_or_as_the_31_forms_text(env):
    extra = {"connect_timeout": "2.5", "read_timeout": 7, "total_timeout": "30", "max_retries": "2"}
    cfg = hook_with(env, extra).transport.config
    assert (cfg.connect_timeout, cfg.read_timeout, cfg.total_timeout) == (2.5, 7.0, 30.0)
    assert cfg.retry.max_attempts == 3 and cfg.retry.initial_backoff == DEFAULT_RETRY.initial_backoff
    assert hook_with(env, {"max_retries": 0}).transport.config.retry.max_attempts == 1


def test_hook_arguments_win(env):
    extra = {"connect_timeout": 2, "read_timeout": 3, "total_timeout": 4, "max_retries": 9}
    hook = hook_with(env, extra, connect_timeout=5, read_timeout=6, total_timeout=7, retry=NO_RETRY)
    cfg = hook.transport.config
    assert (cfg.connect_timeout, cfg.read_timeout, cfg.total_timeout, cfg.retry) == (5, 6, 7, NO_RETRY)


def test_the_triggers_polls_keep_their_own_retry_rule(env):
    """The trigger builds its hook with ``retry=NO_RETRY`` (its loop retries): ``max_retries`` does
    not add attempts inside a poll."""
    from airflow_provider_runs.triggers.run_status import RunStatusTrigger

    hook_with(env, {"max_retries": 7})
    trigger = RunStatusTrigger(service="edges", conn_id="runs_settings", run_id="r1")
    assert trigger.hook.retry is NO_RETRY


# -- TLS: what each transport gets ---------------------------------------------------------------------
def test_verify_false_reaches_both_transports(env):
    for value in (False, "false", "False", "no", 0):
        cfg = hook_with(env, {"verify": value}).transport.config
        assert cfg.requests_verify is False and cfg.ssl is False, value
    assert hook_with(env, {"verify": "true"}).transport.config.ssl is True


def test_ca_bundle_reaches_both_transports_one_context_per_bundle(env, ca_file):
    sync_cfg = hook_with(env, {"ca_bundle": ca_file}).transport.config

    async def async_config():
        return (await hook_with(env, {"ca_bundle": f" {ca_file} "}).atransport()).config

    async_cfg = asyncio.run(async_config())
    assert sync_cfg.requests_verify == ca_file
    context = async_cfg.ssl
    assert isinstance(context, ssl.SSLContext) and context is sync_cfg.ssl  # cached: shared pool
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert [dict(item[0] for item in ca["subject"]) for ca in context.get_ca_certs()] == [
        {"commonName": "runs test CA"}
    ]


# -- bad values fail naming the field, before any HTTP call -----------------------------------------------
BAD = [
    ({"connect_timeout": "soon"}, "connect_timeout must be a positive number"),
    ({"read_timeout": 0}, "read_timeout must be a positive number"),
    ({"total_timeout": "-1"}, "total_timeout must be a positive number"),
    ({"total_timeout": True}, "total_timeout must be a positive number"),
    ({"max_retries": -1}, "max_retries must be a whole number >= 0"),
    ({"max_retries": "2.5"}, "max_retries must be a whole number >= 0"),
    ({"max_retries": "many"}, "max_retries must be a whole number >= 0"),
    ({"verify": "maybe"}, "verify must be true or false"),
    ({"verify": 2}, "verify must be true or false"),
    ({"proxy": "proxy.example:3128"}, "proxy must be the URL of an HTTP proxy"),
    ({"proxy": "socks5://127.0.0.1:1080"}, "proxy must be the URL of an HTTP proxy"),
    ({"proxy": "http://127.0.0.1:3128/some/path"}, "proxy must be the URL of an HTTP proxy"),
    ({"proxy": "http://127.0.0.1:port"}, "proxy must be the URL of an HTTP proxy"),
    ({"proxy": 3128}, "proxy must be the URL of an HTTP proxy"),
    ({"ca_bundle": "/nowhere/ca.pem"}, "ca_bundle '/nowhere/ca.pem' cannot be loaded"),
    ({"ca_bundle": __file__}, "ca_bundle .* cannot be loaded"),  # no certificate in it
    ({"ca_bundle": 1}, "ca_bundle must be a file path"),
    ({"verify": "false", "ca_bundle": __file__}, "verify is false and ca_bundle is set"),
]


@pytest.fixture(scope="module")
def server():
    with HostileServer() as server:
        yield server


@pytest.mark.parametrize(("extra", "message"), BAD)
def test_bad_values_fail_naming_the_field_before_any_call(env, server, extra, message):
    server.received.clear()
    with pytest.raises(ValueError, match=f"Connection 'runs_settings': {message}"):
        hook_with(env, extra, host=server.url).get_run_status("r1")
    with pytest.raises(ValueError, match=f"Connection 'runs_settings': {message}"):
        asyncio.run(hook_with(env, extra, host=server.url, retry=NO_RETRY).aget_run_status("r1"))
    assert server.received == []
    hook_with(env, {}, host=server.url).get_run_status("r1")  # without the bad value: it calls out
    assert len(server.received) == 1


# -- the proxy's credentials ---------------------------------------------------------------------------
def test_proxy_password_is_redacted_and_masked(env):
    password = "proxy-Secret-4711"
    proxy = f"http://someone:{password}@proxy.internal:3128"
    with pytest.raises(ValueError) as bad:
        hook_with(env, {"proxy": proxy.replace("http:", "socks5:")}).transport  # noqa: B018
    assert password not in str(bad.value) and "***@proxy.internal:3128" in str(bad.value)

    cfg = hook_with(env, {"proxy": proxy}).transport.config
    assert cfg.proxy_url == proxy and cfg.requests_proxies == {"http": proxy, "https": proxy}
    assert password not in repr(cfg) and "proxy.internal:3128" in repr(cfg)
    err = cfg.network_error("GET", "/runs", OSError(f"cannot reach {proxy}"), sent=False)
    assert password not in str(err)
    assert redact(f"the proxy said {password}") == "the proxy said ***"  # Airflow's log masker


def test_percent_encoded_password_is_redacted_both_ways():
    cfg = TransportConfig("edges", "https://x.example", {}, proxy="http://u:p%40ss-word-1@proxy:3128")
    assert cfg.redact("p@ss-word-1 p%40ss-word-1") == "*** ***"


# -- the environment's proxy: requests' rule, resolved once per origin ---------------------------------
def test_environment_proxy_follows_requests_rule(env):
    env.setenv("HTTPS_PROXY", "secure-proxy:3128")
    env.setenv("http_proxy", "http://plain-proxy:3128")
    env.setenv("HTTP_PROXY", "http://loses-to-lower-case:1")
    env.setenv("NO_PROXY", ".internal.example,10.0.0.0/8,gateway:8443")
    cases = {
        "https://api.edges.run/v1": "http://secure-proxy:3128",  # a bare host:port gets http://
        "http://api.example.com": "http://plain-proxy:3128",
        "https://svc.internal.example/v1": None,
        "https://10.1.2.3/v1": None,
        "https://gateway:8443/v1": None,
        "https://gateway:9443/v1": "http://secure-proxy:3128",
    }
    assert {url: TransportConfig("edges", url, {}).proxy_url for url in cases} == cases


def test_environment_proxy_is_cached_per_origin_and_environment(env):
    env.setenv("HTTPS_PROXY", "http://proxy-a:3128")
    network._environment_proxy.cache_clear()
    for _ in range(3):
        assert network.environment_proxy("https://api.edges.run/v1/runs") == "http://proxy-a:3128"
    assert network._environment_proxy.cache_info().misses == 1
    env.setenv("HTTPS_PROXY", "http://proxy-b:3128")  # a changed environment is read again
    assert network.environment_proxy("https://api.edges.run/v1") == "http://proxy-b:3128"
