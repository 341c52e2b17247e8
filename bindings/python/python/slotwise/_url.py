"""Connection URLs.

* ``redis://[[user]:password@]host[:port][/db][?option=value&...]`` — one server
  (port 6379 when left out, database ``db``, default 0).
* ``redis+cluster://[[user]:password@]host[:port][,host[:port]...][?option=value&...]`` — a
  cluster, reached through any of the listed seed nodes.
* ``redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service_name[/db][?...]``
  — the master that the listed sentinels (default port 26379) name for ``service_name``.

User and password are percent-decoded. Query options are the keyword options of
``Client.cluster``/``Client.standalone`` (``request_timeout``, ``connect_timeout``,
``client_name``, ``protocol``, ``decode_responses``...); keyword arguments given next to the
URL win over them. IPv6 hosts go in brackets: ``redis://[::1]:6379``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple, Optional
from urllib.parse import parse_qsl, unquote, urlsplit


class Target(NamedTuple):
    cluster: bool
    addresses: List[str]
    options: Dict[str, Any]
    service: Optional[str] = None


def _flag(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


_QUERY: Dict[str, Callable[[str], Any]] = {
    "request_timeout": float,
    "connect_timeout": float,
    "refresh_interval": float,
    "min_refresh_gap": float,
    "client_name": str,
    "protocol": int,
    "max_inflight": int,
    "pubsub_queue": int,
    "max_redirects": int,
    "decode_responses": _flag,
    "read_from": str,
    "retry_unsafe_writes": _flag,
    "sentinel_poll_interval": float,
    "sentinel_subscribe": _flag,
}


def parse(url: str) -> Target:
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "rediss" or scheme == "rediss+cluster":
        raise ValueError("TLS (rediss://) is not supported yet")
    if scheme not in ("redis", "redis+cluster", "redis+sentinel"):
        raise ValueError(
            f"unsupported URL scheme {parts.scheme!r}: use redis://host:port/db for one server, "
            "redis+cluster://host:port,host:port for a cluster or "
            "redis+sentinel://host:port,host:port/service_name for Sentinel"
        )
    cluster = scheme == "redis+cluster"
    opts: Dict[str, Any] = {}
    userinfo, _, hosts = parts.netloc.rpartition("@")
    if userinfo:
        user, has_password, password = userinfo.partition(":")
        if user:
            opts["username"] = unquote(user)
        if has_password:
            opts["password"] = unquote(password)
    sentinel = scheme == "redis+sentinel"
    default_port = 26379 if sentinel else 6379
    addresses = [_address(h, default_port) for h in hosts.split(",")] if hosts else []
    if not addresses:
        raise ValueError(f"no host in URL {_redact(url)!r}")
    if not cluster and not sentinel and len(addresses) > 1:
        raise ValueError("several hosts need redis+cluster:// or redis+sentinel://")
    path = parts.path.strip("/")
    service: Optional[str] = None
    if sentinel:
        service, _, path = path.partition("/")
        if not service:
            raise ValueError("a redis+sentinel:// URL needs the service name as its path")
        service = unquote(service)
    if path:
        if cluster:
            raise ValueError("a cluster URL takes no database number (Redis Cluster has only db 0)")
        if not path.isdigit():
            raise ValueError(f"database in the URL path must be a number, got {path!r}")
        opts["db"] = int(path)
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        convert = _QUERY.get(name)
        if convert is None:
            raise ValueError(f"unknown URL option {name!r}; known: {', '.join(sorted(_QUERY))}")
        try:
            opts[name] = convert(value)
        except ValueError as e:
            raise ValueError(f"URL option {name}: {e}") from None
    return Target(cluster, addresses, opts, service)


def _address(host: str, default_port: int = 6379) -> str:
    if not host:
        raise ValueError("empty host in URL")
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise ValueError(f"unclosed bracket in host {host!r}")
        return host if host[end + 1 :].startswith(":") else f"{host}:{default_port}"
    if host.count(":") > 1:
        raise ValueError(f"IPv6 host {host!r} must be in brackets: [addr]:port")
    return host if ":" in host else f"{host}:{default_port}"


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()
