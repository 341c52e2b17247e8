"""Connection URLs, parsed by the core (one parser for every language).

* ``redis://[[user]:password@]host[:port][/db][?option=value&...]`` — one server
  (port 6379 when left out, database ``db``, default 0).
* ``redis+cluster://[[user]:password@]host[:port][,host[:port]...][?option=value&...]`` — a
  cluster, reached through any of the listed seed nodes.
* ``redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service_name[/db][?...]``
  — the master that the listed sentinels (default port 26379) name for ``service_name``.
* ``rediss://``, ``rediss+cluster://``, ``rediss+sentinel://`` — the same over TLS
  (``tls=True``), verified against the system's CA roots unless ``tls_ca_file`` says otherwise.

User and password are percent-decoded. Query options are the keyword options of
``Client.cluster``/``Client.standalone`` (``request_timeout``, ``connect_timeout``,
``client_name``, ``protocol``, ``decode_responses``, ``tls_ca_file``...); keyword arguments
given next to the URL win over them. IPv6 hosts go in brackets: ``redis://[::1]:6379``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple, Optional

from ._slotwise import parse_url


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
    "pubsub_heartbeat": float,
    "max_redirects": int,
    "decode_responses": _flag,
    "read_from": str,
    "retry_unsafe_writes": _flag,
    "sentinel_poll_interval": float,
    "sentinel_subscribe": _flag,
    "tls_ca_file": str,
    "tls_cert_file": str,
    "tls_key_file": str,
    "tls_server_name": str,
    "tls_insecure_skip_verify": _flag,
}


def parse(url: str) -> Target:
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    u = parse_url(url)
    opts: Dict[str, Any] = {}
    for name in ("username", "password", "db"):
        if u[name] is not None:
            opts[name] = u[name]
    if u["tls"]:
        opts["tls"] = True
    for name, value in u["query"]:
        convert = _QUERY.get(name)
        if convert is None:
            raise ValueError(f"unknown URL option {name!r}; known: {', '.join(sorted(_QUERY))}")
        try:
            opts[name] = convert(value)
        except ValueError as e:
            raise ValueError(f"URL option {name}: {e}") from None
    return Target(u["mode"] == "cluster", u["addresses"], opts, u["service"])
