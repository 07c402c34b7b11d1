"""The proxy and the TLS trust of a connection, the same for both drivers.

**Proxy.** A connection's ``proxy`` setting wins (over ``NO_PROXY`` too: it was asked for this
connection). Without one, the environment decides (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``,
``NO_PROXY``; the lower-case names win) by requests' own rule, so the worker (requests) and the
triggerer (aiohttp) agree: ``NO_PROXY`` hosts, domains, ``host:port`` and CIDR ranges are
bypassed. It is resolved once per origin and proxy environment (cached), never per request:
each transport config holds its :attr:`~airflow_provider_runs.core.http.TransportConfig.proxy_url`
and both drivers pass it with each request. The shared aiohttp session keeps ``trust_env`` off:
with it aiohttp would look the environment and ``~/.netrc`` up in a worker thread on every
request, and send a ``.netrc`` entry for the service's host as basic auth.

The libraries keep a proxy's credentials (``http://user:password@proxy:3128``) for the proxy:
for an ``https`` service they open a ``CONNECT`` tunnel that carries only the proxy's own headers,
and the API key travels inside the TLS tunnel. (For a plain ``http`` base URL a proxy, like any
hop, sees the whole request.) Proxy passwords join the secrets every text is redacted of.

**TLS.** ``verify`` false turns certificate checks off; ``ca_bundle`` (a PEM file, or a directory
of hashed certificates) replaces the default trust. requests takes ``verify=False`` or the path;
aiohttp takes ``ssl=False`` or an ``ssl.SSLContext`` built once per bundle and cached (one context
object per bundle also keeps the shared session's pooled connections shared).
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    import ssl

PROXY_SCHEMES = ("http", "https")
"""The proxy URL schemes both drivers support (aiohttp speaks no SOCKS)."""


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``None``: none, or bypassed by ``NO_PROXY``),
    by requests' rule; cached per origin and proxy environment.

    :param url: the service's base URL (only its scheme, host and port count).
    """
    parts = urlsplit(url)
    snapshot = tuple(sorted((k, v) for k, v in os.environ.items() if k.lower().endswith("_proxy")))
    return _environment_proxy(f"{parts.scheme}://{parts.netloc}/", snapshot)


@functools.lru_cache(maxsize=256)
def _environment_proxy(origin: str, snapshot: tuple[tuple[str, str], ...]) -> str | None:
    """:func:`environment_proxy` of one origin (``snapshot``: the cache key of the environment)."""
    from requests.utils import get_environ_proxies, select_proxy

    proxy = select_proxy(origin, get_environ_proxies(origin))
    if not proxy:
        return None
    return proxy if "://" in proxy else f"http://{proxy}"  # requests reads "host:3128" so too


def check_proxy(value: Any) -> str | None:
    """A connection's ``proxy`` setting, checked: an ``http(s)://`` URL with a host and nothing
    after it but ``/`` (``None`` for empty); anything else is a ``ValueError`` that names the
    setting and quotes the value without its credentials.

    :param value: the setting as the connection holds it.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            parts = None
        if (
            parts is not None
            and parts.scheme.lower() in PROXY_SCHEMES
            and parts.hostname
            and parts.path in ("", "/")
            and not parts.query
            and not parts.fragment
            and not any(c.isspace() for c in text)
        ):
            return text
        shown = repr(safe_proxy(text))
    else:
        shown = f"a {type(value).__name__}"
    raise ValueError(
        f"proxy must be the URL of an HTTP proxy, http://[user:password@]host:port (or https://); got {shown}"
    )


def safe_proxy(url: str) -> str:
    """A proxy URL to quote: its credentials replaced by ``***``.

    :param url: the proxy URL.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return f"{scheme}{sep}{netloc}{slash}{tail}"


def proxy_secrets(url: str | None) -> tuple[str, ...]:
    """The credentials in a proxy URL to redact: the password, as written and decoded.

    :param url: the proxy URL (``None``: no proxy).
    """
    if not url:
        return ()
    try:
        password = urlsplit(url).password
    except ValueError:
        return ()
    if not password:
        return ()
    return tuple({password, unquote(password)})


def requests_verify(verify: bool, ca_bundle: str | None) -> bool | str:
    """requests' ``verify=`` of a connection: ``False``, the bundle's path, or ``True``.

    :param verify: whether certificates are checked.
    :param ca_bundle: the CA bundle's path (``None``: the default trust).
    """
    if not verify:
        return False
    return ca_bundle or True


def aiohttp_ssl(verify: bool, ca_bundle: str | None) -> bool | ssl.SSLContext:
    """aiohttp's ``ssl=`` of a connection: ``False``, the bundle's cached context, or ``True``
    (aiohttp's default context).

    :param verify: whether certificates are checked.
    :param ca_bundle: the CA bundle's path (``None``: the default trust).
    """
    if not verify:
        return False
    return ca_context(ca_bundle) if ca_bundle else True


@functools.lru_cache(maxsize=32)
def ca_context(ca_bundle: str) -> ssl.SSLContext:
    """The verifying ``ssl.SSLContext`` that trusts ``ca_bundle``, built once per path (a bundle
    changed on disk is read again by a new process). A missing path or one with no certificate
    in it is a ``ValueError`` naming ``ca_bundle`` (not cached: a fixed file is read again).

    :param ca_bundle: a PEM file of CA certificates, or a directory of hashed certificates.
    """
    import ssl

    path = os.path.expanduser(ca_bundle)
    try:
        if os.path.isdir(path):
            context = ssl.create_default_context(capath=path)
        else:
            context = ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if not isinstance(exc, ssl.SSLError) and exc.strerror else str(exc)
        raise ValueError(
            f"ca_bundle {ca_bundle!r} cannot be loaded ({reason}): give the path of a PEM file of "
            "CA certificates (or a directory of hashed ones) readable on every machine that runs "
            "tasks and triggers"
        ) from None
    return context
