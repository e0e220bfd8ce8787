"""Network settings, resolved once when a client is built: whom to trust, which proxy,
and where a host points.

- ``tls_context``: the certificates a client trusts. By default the system store
  plus ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` as they are when the client is built
  (aiohttp's own default context reads them once, when aiohttp is imported).
  Verification is never turned off here: a caller who wants that builds the
  context.
- ``proxy_for``: the proxy for a base URL, from the ``proxy`` option or from
  ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` (either case;
  the standard library's reading of them). ``.netrc`` plays no part. The
  credentials are split off the URL so that no message built from it names them.
- ``is_loopback``: whether a host is this machine. The client warns when its key
  would cross the network in clear, the mock server when it listens beyond this
  machine.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
import urllib.request
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

SSLOption = ssl.SSLContext | str | os.PathLike[str] | None
ProxyOption = str | bool | None


def _cert_env() -> tuple[str | None, str | None]:
    return os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")


# aiohttp, imported with rawgpt, builds its default context then, from the same variables.
_CERT_ENV_AT_IMPORT = _cert_env()


def tls_context(option: SSLOption) -> ssl.SSLContext | None:
    """The SSLContext for ``ssl=``: a context as given, a CA bundle (file or hashed
    directory) at a path, or the default store; ValueError naming a bad path.

    None stands for aiohttp's own default context, when it holds just what the default
    should: loading the store again costs tens of milliseconds per process.
    """
    if isinstance(option, ssl.SSLContext):
        return option
    if option is None:
        env = _cert_env()
        return _default_context(*env, env == _CERT_ENV_AT_IMPORT)
    if not isinstance(option, str | os.PathLike):
        raise TypeError(
            "ssl must be an ssl.SSLContext or the path of a CA bundle, got "
            f"{option!r}; certificate verification cannot be turned off with it "
            "(pass an SSLContext you configured yourself if you must)"
        )
    path = os.fspath(option)
    if not os.path.exists(path):
        raise ValueError(f"ssl: no CA bundle at {path!r}")
    try:
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"ssl: {path!r} is not a PEM CA bundle ({exc})") from None


@functools.lru_cache(maxsize=8)
def _default_context(
    cert_file: str | None, cert_dir: str | None, as_at_import: bool
) -> ssl.SSLContext | None:
    """The system store plus the environment's file and directory, cached per their
    values (a context is safe to share); None when aiohttp's default, built from the
    same variables, already holds exactly that."""
    system = ssl.get_default_verify_paths()
    more_file = bool(cert_file) and not _same(cert_file, system.openssl_cafile)
    more_dir = bool(cert_dir) and not _same(cert_dir, system.openssl_capath)
    if as_at_import and not more_file and not more_dir:
        return None
    ctx = ssl.create_default_context()  # OpenSSL reads SSL_CERT_FILE / SSL_CERT_DIR now,
    # in place of its built-in locations: load those too, so the variables add trust
    if more_file and os.path.isfile(system.openssl_cafile):
        ctx.load_verify_locations(cafile=system.openssl_cafile)
    if more_dir and os.path.isdir(system.openssl_capath):
        ctx.load_verify_locations(capath=system.openssl_capath)
    return ctx


def _same(path: str | None, other: str) -> bool:
    return bool(path) and os.path.realpath(path or "") == os.path.realpath(other)


class Proxy(NamedTuple):
    """A proxy URL without credentials (scheme://host:port), the credentials, and
    whether requests tunnel through it (https:// targets, by CONNECT)."""

    url: str
    tunnel: bool
    login: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        return f"Proxy({self.url!r}{', with credentials' if self.login is not None else ''})"


def proxy_for(option: ProxyOption, base_url: str) -> Proxy | None:
    """The proxy every request to ``base_url`` goes through, or None.

    ``option``: a URL; None to follow the environment for ``base_url``'s scheme and
    host (``NO_PROXY`` included); False to ignore the environment.
    """
    tunnel = base_url.startswith("https:")
    if option is None:
        return _split(_from_env(base_url), tunnel, "the proxy environment variable")
    if option is False:
        return None
    if not isinstance(option, str):
        raise TypeError(f"proxy must be a URL string, None or False, got {type(option).__name__}")
    return _split(option, tunnel, "proxy")


def _from_env(base_url: str) -> str | None:
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(base_url)
    url = proxies.get(parts.scheme) or proxies.get("all")
    if not url:
        return None
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if urllib.request.proxy_bypass(host):  # NO_PROXY, as the environment has a proxy
        return None
    return url


def _split(url: str | None, tunnel: bool, source: str) -> Proxy | None:
    if not url:
        return None
    if "://" not in url:
        url = "http://" + url  # "proxy.corp:3128", as curl reads it
    parts = urlsplit(url)
    hostport = parts.netloc.rpartition("@")[2]
    shown = f"{parts.scheme}://{hostport}"  # never the credentials
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{source} must be an http:// or https:// proxy URL, got {shown!r}")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise ValueError(f"{source} has a bad port: {shown!r}") from None
    login = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    if login is not None and ":" in login:
        raise ValueError(f"{source}: a proxy login cannot contain ':' ({shown!r})")
    return Proxy(shown, tunnel, login, password)


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (brackets allowed, an IPv4-mapped
    127.x too). Any other name is not: it resolves to who knows where. ``""`` and
    ``0.0.0.0`` mean every interface, so not loopback either."""
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback
