"""The command methods, written once.

Each builder below turns a method's arguments into the command's argument tuple and, where the
raw reply needs shaping (``OK`` -> ``True``, a RESP2 flat list -> ``dict``...), a parser.
``sync_method`` and ``async_method`` wrap a builder into a method of ``Client``/``Pipeline``
and of ``AsyncClient``; ``install`` adds every builder to a class. Nothing here knows about
networking: a class supplies ``_run(args, parse)``.
"""

from __future__ import annotations

import datetime
import inspect
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

Parse = Optional[Callable[[Any], Any]]
Built = Tuple[Tuple[Any, ...], Parse]


# --- reply parsers (each works for bytes and str replies, RESP2 and RESP3) ---


def _ok(reply: Any) -> Optional[bool]:
    """``OK`` -> True; nil (a SET with NX/XX that did not apply) -> None."""
    return None if reply is None else True


def _bool(reply: Any) -> bool:
    return bool(reply)


def _float(reply: Any) -> Optional[float]:
    return None if reply is None else float(reply)


def _pairs(reply: Any) -> Dict[Any, Any]:
    """A RESP3 map is already a dict; RESP2 sends ``[k1, v1, k2, v2, ...]``."""
    if isinstance(reply, dict):
        return reply
    it = iter(reply)
    return dict(zip(it, it))


def _set(reply: Any) -> set:
    return reply if isinstance(reply, set) else set(reply)


def _scored(reply: Any) -> list:
    """ZRANGE WITHSCORES: RESP3 ``[[m, score], ...]``, RESP2 ``[m, score, m, score, ...]``."""
    if reply and isinstance(reply[0], list):
        return [(m, float(s)) for m, s in reply]
    it = iter(reply)
    return [(m, float(s)) for m, s in zip(it, it)]


def _seconds(name: str, value: Any) -> int:
    if isinstance(value, datetime.timedelta):
        value = int(value.total_seconds())
    return _positive(name, value)


def _millis(name: str, value: Any) -> int:
    if isinstance(value, datetime.timedelta):
        value = int(value.total_seconds() * 1000)
    return _positive(name, value)


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or a datetime.timedelta, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _flatten(name: str, mapping: Any) -> list:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping (e.g. a dict), not {type(mapping).__name__}")
    if not mapping:
        raise ValueError(f"{name} must not be empty")
    out: list = []
    for k, v in mapping.items():
        out += (k, v)
    return out


def _keys(keys: Any, args: Tuple[Any, ...]) -> list:
    """``mget(["a", "b"])`` and ``mget("a", "b")`` both mean keys a and b."""
    first = list(keys) if isinstance(keys, (list, tuple)) else [keys]
    return first + list(args)


def _nonempty(cmd: str, items: Tuple[Any, ...]) -> Tuple[Any, ...]:
    if not items:
        raise ValueError(f"{cmd} needs at least one value")
    return items


# --- builders: one per method, named like it ---


def ping() -> Built:
    return ("PING",), _ok


def get(name: Any) -> Built:
    return ("GET", name), None


def set_(
    name: Any,
    value: Any,
    ex: Any = None,
    px: Any = None,
    nx: bool = False,
    xx: bool = False,
    get: bool = False,
) -> Built:
    """SET; returns True, or None when NX/XX stopped it; with ``get=True`` the old value."""
    if ex is not None and px is not None:
        raise ValueError("pass ex or px, not both")
    if nx and xx:
        raise ValueError("pass nx or xx, not both")
    args: list = ["SET", name, value]
    if ex is not None:
        args += ("EX", _seconds("ex", ex))
    if px is not None:
        args += ("PX", _millis("px", px))
    if nx:
        args.append("NX")
    if xx:
        args.append("XX")
    if get:
        args.append("GET")
    return tuple(args), None if get else _ok


def delete(*names: Any) -> Built:
    return ("DEL", *_nonempty("delete", names)), None


def exists(*names: Any) -> Built:
    return ("EXISTS", *_nonempty("exists", names)), None


def expire(name: Any, time: Any) -> Built:
    return ("EXPIRE", name, _seconds("time", time)), _bool


def ttl(name: Any) -> Built:
    return ("TTL", name), None


def incr(name: Any, amount: int = 1) -> Built:
    return (("INCR", name) if amount == 1 else ("INCRBY", name, amount)), None


def incrby(name: Any, amount: int) -> Built:
    return ("INCRBY", name, amount), None


def decr(name: Any, amount: int = 1) -> Built:
    return (("DECR", name) if amount == 1 else ("DECRBY", name, amount)), None


def mget(keys: Any, *args: Any) -> Built:
    """Values of several keys (on any nodes), in order; None for a missing key."""
    return ("MGET", *_keys(keys, args)), None


def mset(mapping: Mapping[Any, Any]) -> Built:
    return ("MSET", *_flatten("mapping", mapping)), _ok


def hset(
    name: Any, key: Any = None, value: Any = None, mapping: Optional[Mapping[Any, Any]] = None
) -> Built:
    """HSET of one field (``key``, ``value``) and/or every item of ``mapping``."""
    items: list = [] if key is None else [key, value]
    if mapping is not None:
        items += _flatten("mapping", mapping)
    if not items:
        raise ValueError("hset needs key and value, or mapping")
    return ("HSET", name, *items), None


def hget(name: Any, key: Any) -> Built:
    return ("HGET", name, key), None


def hgetall(name: Any) -> Built:
    return ("HGETALL", name), _pairs


def hdel(name: Any, *keys: Any) -> Built:
    return ("HDEL", name, *_nonempty("hdel", keys)), None


def lpush(name: Any, *values: Any) -> Built:
    return ("LPUSH", name, *_nonempty("lpush", values)), None


def rpush(name: Any, *values: Any) -> Built:
    return ("RPUSH", name, *_nonempty("rpush", values)), None


def lpop(name: Any, count: Optional[int] = None) -> Built:
    return (("LPOP", name) if count is None else ("LPOP", name, count)), None


def rpop(name: Any, count: Optional[int] = None) -> Built:
    return (("RPOP", name) if count is None else ("RPOP", name, count)), None


def lrange(name: Any, start: int, end: int) -> Built:
    return ("LRANGE", name, start, end), None


def sadd(name: Any, *values: Any) -> Built:
    return ("SADD", name, *_nonempty("sadd", values)), None


def srem(name: Any, *values: Any) -> Built:
    return ("SREM", name, *_nonempty("srem", values)), None


def smembers(name: Any) -> Built:
    return ("SMEMBERS", name), _set


def zadd(
    name: Any,
    mapping: Mapping[Any, float],
    nx: bool = False,
    xx: bool = False,
    gt: bool = False,
    lt: bool = False,
    ch: bool = False,
) -> Built:
    """ZADD of ``{member: score}``; returns how many were added (changed, with ``ch``)."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"mapping must be a mapping (e.g. a dict), not {type(mapping).__name__}")
    if not mapping:
        raise ValueError("mapping must not be empty")
    flags = [f for f, on in (("NX", nx), ("XX", xx), ("GT", gt), ("LT", lt), ("CH", ch)) if on]
    pairs: list = []
    for member, score in mapping.items():
        pairs += (score, member)
    return ("ZADD", name, *flags, *pairs), None


def zrange(name: Any, start: int, end: int, desc: bool = False, withscores: bool = False) -> Built:
    """Members by rank; with ``withscores`` a list of ``(member, float score)``."""
    args: list = ["ZRANGE", name, start, end]
    if desc:
        args.append("REV")
    if withscores:
        args.append("WITHSCORES")
    return tuple(args), _scored if withscores else None


def zscore(name: Any, value: Any) -> Built:
    return ("ZSCORE", name, value), _float


def publish(channel: Any, message: Any) -> Built:
    return ("PUBLISH", channel, message), None


def eval_(script: Any, numkeys: int, *keys_and_args: Any) -> Built:
    return ("EVAL", script, numkeys, *keys_and_args), None


def evalsha(sha: Any, numkeys: int, *keys_and_args: Any) -> Built:
    return ("EVALSHA", sha, numkeys, *keys_and_args), None


BUILDERS: Dict[str, Callable[..., Built]] = {
    f.__name__.rstrip("_"): f
    for f in (
        ping, get, set_, delete, exists, expire, ttl, incr, incrby, decr, mget, mset,
        hset, hget, hgetall, hdel, lpush, rpush, lpop, rpop, lrange, sadd, srem, smembers,
        zadd, zrange, zscore, publish, eval_, evalsha,
    )
}  # fmt: skip


def _signed(method: Any, name: str, build: Callable[..., Built]) -> Any:
    """Give ``method`` the builder's name, docstring and signature (with ``self``)."""
    sig = inspect.signature(build)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__signature__ = sig.replace(
        parameters=[self_param, *sig.parameters.values()], return_annotation=inspect.Signature.empty
    )
    method.__name__ = method.__qualname__ = name
    method.__doc__ = build.__doc__ or f"The {name.upper()} command."
    return method


def sync_method(name: str, build: Callable[..., Built]) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return self._run(*build(*args, **kwargs))

    return _signed(method, name, build)


def async_method(name: str, build: Callable[..., Built]) -> Any:
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        cmd, parse = build(*args, **kwargs)
        reply = await self._native.execute_async(cmd)
        return reply if parse is None else parse(reply)

    return _signed(method, name, build)


def install(cls: type, flavour: Callable[[str, Callable[..., Built]], Any]) -> type:
    """Adds every command method to ``cls`` (a class decorator helper)."""
    for name, build in BUILDERS.items():
        method = flavour(name, build)
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, method)
    return cls
