"""Bad input and failures give clear exceptions with stable attributes."""

from __future__ import annotations

import asyncio
import builtins
import time
from typing import Any

import pytest

import slotwise

UNREACHABLE = ["127.0.0.1:1"]  # nothing listens on port 1: refused at once
# Keeps the server busy for ARGV[1] milliseconds (DEBUG SLEEP is refused on shared connections).
BUSY_SCRIPT = (
    "local t = redis.call('TIME') while true do local n = redis.call('TIME') "
    "if (n[1]-t[1])*1000 + (n[2]-t[2])/1000 > tonumber(ARGV[1]) then return 1 end end"
)


def test_exception_tree() -> None:
    assert issubclass(slotwise.ClusterDownError, slotwise.ResponseError)
    assert issubclass(slotwise.ResponseError, slotwise.SlotwiseError)
    assert issubclass(slotwise.ConnectionError, builtins.ConnectionError)
    assert issubclass(slotwise.TimeoutError, builtins.TimeoutError)
    assert issubclass(slotwise.InvalidArgumentError, ValueError)
    assert issubclass(slotwise.BusyError, slotwise.TimeoutError)
    for name in slotwise.__all__:
        obj = getattr(slotwise, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, slotwise.SlotwiseError), name
            assert obj.__module__ == "slotwise"
    assert slotwise.SlotwiseError.may_have_run is False


def test_server_error_attributes(client: slotwise.Client, key: Any) -> None:
    client.set(key("s"), "text")
    with pytest.raises(slotwise.ResponseError) as e:
        client.incr(key("s"))
    assert e.value.code == 5 and e.value.kind == "SERVER" and e.value.may_have_run is False
    assert "not an integer" in str(e.value)


def test_crossslot(client: slotwise.Client) -> None:
    with pytest.raises(slotwise.CrossSlotError) as e:
        client.execute("RENAME", "a", "b")  # never split: both keys must share a slot
    assert e.value.kind == "CROSSSLOT" and e.value.code == 8


def test_unknown_command_and_empty(client: slotwise.Client) -> None:
    with pytest.raises(slotwise.ResponseError, match="unknown command"):
        client.execute("NOSUCHCOMMAND", "x")
    with pytest.raises(slotwise.InvalidArgumentError) as e:
        client.execute()
    assert e.value.kind == "INVALID_ARGUMENT"
    with pytest.raises(slotwise.InvalidArgumentError, match="not supported"):
        client.execute("SUBSCRIBE", "ch")


def test_unreachable_seeds_fail_fast_and_clearly() -> None:
    t0 = time.monotonic()
    with pytest.raises(slotwise.SlotwiseError) as e:
        slotwise.Client.cluster(UNREACHABLE, connect_timeout=0.2, request_timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert isinstance(e.value, (slotwise.ConnectionError, slotwise.TopologyError)), e.value
    assert "127.0.0.1:1" in str(e.value)
    with pytest.raises(slotwise.ConnectionError) as e2:
        slotwise.Client.standalone("127.0.0.1:1", connect_timeout=0.2)
    assert e2.value.kind == "CONNECT" and e2.value.code == 1
    with pytest.raises(slotwise.SlotwiseError):
        asyncio.run(slotwise.AsyncClient.cluster(UNREACHABLE, connect_timeout=0.2))


def test_blackholed_seed_times_out() -> None:
    # 127.255.255.254 on a port nothing serves: refused too on Linux loopback, so use a
    # listening socket that never answers to get a real timeout.
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    addr = "127.0.0.1:%d" % s.getsockname()[1]
    try:
        t0 = time.monotonic()
        with pytest.raises(slotwise.SlotwiseError) as e:
            slotwise.Client.cluster([addr], connect_timeout=0.3, request_timeout=0.6)
        assert time.monotonic() - t0 < 5
        assert e.value.kind in ("TIMEOUT", "CONNECT", "TOPOLOGY"), e.value
    finally:
        s.close()


@pytest.mark.parametrize(
    "opts,exc,match",
    [
        ({"request_timeout": -1}, ValueError, "request_timeout must be > 0"),
        ({"request_timeout": 0}, ValueError, "request_timeout"),
        ({"request_timeout": float("nan")}, ValueError, "request_timeout"),
        ({"request_timeout": 1e30}, ValueError, "at most"),
        ({"request_timeout": "1"}, TypeError, "request_timeout must be a number"),
        ({"request_timeout": True}, TypeError, "request_timeout"),
        ({"connect_timeout": None}, TypeError, "connect_timeout"),
        ({"protocol": 4}, ValueError, "protocol must be from 2 to 3"),
        ({"protocol": "3"}, TypeError, "protocol must be an int"),
        ({"db": -1}, ValueError, "db"),
        ({"db": 1}, ValueError, "db must be 0 in cluster mode"),
        ({"username": 5}, TypeError, "username must be a str"),
        ({"password": b"x"}, TypeError, "password must be a str"),
        ({"client_name": "a b"}, ValueError, "client_name"),
        ({"decode_responses": 1}, TypeError, "decode_responses must be a bool"),
        ({"max_inflight": 0}, ValueError, "max_inflight"),
        ({"max_redirects": 10**9}, ValueError, "max_redirects"),
        ({"pubsub_queue": 0}, ValueError, "pubsub_queue"),
        ({"pubsub_heartbeat": -1}, ValueError, "pubsub_heartbeat must be >= 0"),
        ({"pubsub_heartbeat": "5"}, TypeError, "pubsub_heartbeat must be a number"),
        ({"request_timout": 1}, TypeError, "unknown option 'request_timout'"),
        ({"read_from_replica": True}, TypeError, "unknown option"),
    ],
)
def test_bad_options(opts: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        slotwise.Client.cluster(UNREACHABLE, **opts)


def test_bad_options_async() -> None:
    with pytest.raises(ValueError, match="request_timeout"):
        asyncio.run(slotwise.AsyncClient.standalone("127.0.0.1:1", request_timeout=-1))


@pytest.mark.parametrize(
    "seeds,exc,match",
    [
        ([], slotwise.InvalidArgumentError, "at least one seed"),
        (["nohostport"], slotwise.InvalidArgumentError, "invalid address"),
        (["h:99999"], slotwise.InvalidArgumentError, "port"),
        ([5], TypeError, "host:port"),
        (None, TypeError, "seeds must be"),
        ([("h", "p")], TypeError, "host:port"),
    ],
)
def test_bad_seeds(seeds: Any, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        slotwise.Client.cluster(seeds, connect_timeout=0.2)


def test_bad_argument_types(client: slotwise.Client, key: Any) -> None:
    with pytest.raises(TypeError, match="argument 2: expected bytes, str, int or float, not dict"):
        client.execute("SET", key("a"), {})
    with pytest.raises(TypeError, match="bool"):
        client.set(key("a"), True)
    with pytest.raises(TypeError, match="the command name"):
        client.execute(None)
    with pytest.raises(TypeError, match="NaN"):
        client.set(key("a"), float("nan"))
    with pytest.raises(ValueError, match="ex or px"):
        client.set(key("a"), 1, ex=1, px=1)
    with pytest.raises(ValueError, match="ex must be > 0"):
        client.set(key("a"), 1, ex=0)
    with pytest.raises(TypeError, match="ex must be an int"):
        client.set(key("a"), 1, ex="10")
    with pytest.raises(TypeError, match="mapping"):
        client.mset([("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one"):
        client.delete()
    with pytest.raises(ValueError, match="hset needs"):
        client.hset(key("h"))


def test_direct_construction_is_refused() -> None:
    with pytest.raises(TypeError, match="Client.cluster"):
        slotwise.Client("127.0.0.1:6379")  # type: ignore[arg-type]


def test_closed_client(seeds: list, key: Any) -> None:
    c = slotwise.Client.cluster(seeds)
    c.close()
    c.close()  # idempotent
    with pytest.raises(slotwise.ClosedError) as e:
        c.get(key("a"))
    assert e.value.kind == "CLOSED" and e.value.code == 16 and e.value.may_have_run is False

    async def run() -> None:
        a = await slotwise.AsyncClient.cluster(seeds)
        a.close()
        with pytest.raises(slotwise.ClosedError):
            await a.get(key("a"))

    asyncio.run(run())


def test_request_timeout_says_may_have_run(address: str, key: Any) -> None:
    """A command that was sent and outlived its deadline may have run: the error says so."""
    with slotwise.Client.standalone(address, request_timeout=0.2) as r:
        with pytest.raises(slotwise.TimeoutError) as e:
            r.execute("EVAL", BUSY_SCRIPT, 0, 600)
        assert e.value.kind == "TIMEOUT" and e.value.code == 3
        assert e.value.may_have_run is True
        assert "may have run" in str(e.value)
        time.sleep(0.5)
        assert r.ping() is True  # the client recovers by itself


def test_auth_failure() -> None:
    from conftest import harness

    d = harness("start-standalone", "--requirepass", "s3cret")
    try:
        addr = d["seeds"][0]
        with pytest.raises(slotwise.AuthenticationError) as e:
            slotwise.Client.standalone(addr, password="wrong")
        assert e.value.kind == "AUTH"
        assert "wrong" not in str(e.value)
        with slotwise.connect(f"redis://:s3cret@{addr}/2") as r:
            assert r.ping() is True
            assert r.execute("CLIENT", "INFO").find(b"db=2") >= 0
    finally:
        harness("stop", "--dir", d["dir"])


@pytest.mark.parametrize(
    "url,match",
    [
        ("http://h:1", "unsupported URL scheme"),
        ("redis://h:1?tls_insecure_skip_verify=maybe", "tls_insecure_skip_verify"),
        ("redis://u:hunter2@h:1/x", "must be a number"),
        ("redis://", "no host"),
        ("redis://a:1,b:2", "redis\\+cluster"),
        ("redis+cluster://a:1/3", "no database"),
        ("redis://h:1/x", "must be a number"),
        ("redis://h:1?bogus=1", "unknown URL option 'bogus'"),
        ("redis://h:1?decode_responses=maybe", "decode_responses"),
        ("redis://::1:6379", "brackets"),
    ],
)
def test_bad_urls(url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        slotwise.connect(url)


def test_url_parsing() -> None:
    from slotwise._url import parse

    t = parse("redis+cluster://us%40r:p%3Ass@h1:7000,h2,[::1]:7001?request_timeout=2.5&decode_responses=true")
    assert t.cluster and t.addresses == ["h1:7000", "h2:6379", "[::1]:7001"]
    assert t.options == {"username": "us@r", "password": "p:ss", "request_timeout": 2.5, "decode_responses": True}
    t = parse("redis://:pw@host/3")
    assert not t.cluster and t.addresses == ["host:6379"] and t.options == {"password": "pw", "db": 3}


def test_url_connects(seeds: list, address: str, key: Any) -> None:
    with slotwise.connect("redis+cluster://" + ",".join(seeds) + "?decode_responses=1") as r:
        r.set(key("u"), "v")
        assert r.get(key("u")) == "v"
    with slotwise.connect(f"redis://{address}", decode_responses=True) as r:
        assert r.ping() is True

    async def run() -> None:
        async with await slotwise.AsyncClient.from_url(f"redis://{address}/1") as r:
            assert await r.set(key("u"), 1) is True

    asyncio.run(run())
