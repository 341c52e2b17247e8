"""PubSub and AsyncPubSub: redis-py-shaped shells over ``_slotwise.NativePubSub``.

Messages are dicts ``{"type", "pattern", "channel", "data"}``; ``type`` is ``message``,
``pmessage``, ``smessage``, ``subscribe``/``psubscribe``/``ssubscribe``,
``unsubscribe``/``punsubscribe``/``sunsubscribe``, or slotwise's own ``resubscribed``
(subscriptions are back after a failover, a lost node or a moved slot: messages published
meanwhile may have been missed; ``data`` lists ``(kind, name)`` pairs, ``interrupted_for`` is in
seconds) and ``dropped`` (the application fell ``pubsub_queue`` items behind: ``data`` messages
were dropped there).
"""

from __future__ import annotations

import time
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Union

_Name = Union[str, bytes]
_CONFIRMATIONS = frozenset(
    ("subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe")
)


def _names(names: Any) -> List[bytes]:
    out = []
    for n in names:
        if isinstance(n, str):
            out.append(n.encode())
        elif isinstance(n, bytes):
            out.append(n)
        else:
            raise TypeError(f"a channel must be str or bytes, not {type(n).__name__}")
    return out


def _left(deadline: Optional[float]) -> Optional[float]:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _deadline(timeout: Optional[float]) -> Optional[float]:
    return None if timeout is None else time.monotonic() + max(0.0, timeout)


def _keep(msg: Optional[Dict[str, Any]], ignore_subscribe_messages: bool) -> bool:
    return msg is not None and not (ignore_subscribe_messages and msg["type"] in _CONFIRMATIONS)


class _PubSubBase:
    __slots__ = ("_native", "_ignore")

    def __init__(self, native: Any, ignore_subscribe_messages: bool = False) -> None:
        self._native = native
        self._ignore = ignore_subscribe_messages

    @property
    def subscribed(self) -> bool:
        """True while any subscription is held."""
        return bool(self._native.subscription_count)

    def close(self) -> None:
        """Closes the pub/sub connections (messages already received can still be read)."""
        self._native.close()


class PubSub(_PubSubBase):
    """Subscriptions on dedicated connections that follow the deployment; from
    ``Client.pubsub()``. Thread-safe. ``subscribe``/``psubscribe``/``ssubscribe`` return once
    the server confirmed every name (raising ``TimeoutError`` after ``request_timeout``, the
    subscription then being kept and made as soon as a node can take it)."""

    __slots__ = ()

    def subscribe(self, *channels: _Name) -> None:
        self._native.subscribe("channel", _names(channels))

    def psubscribe(self, *patterns: _Name) -> None:
        self._native.subscribe("pattern", _names(patterns))

    def ssubscribe(self, *channels: _Name) -> None:
        """Sharded channels (Redis 7): each served by the shard owning its slot."""
        self._native.subscribe("sharded", _names(channels))

    def unsubscribe(self, *channels: _Name) -> None:
        """Drops channels (every channel when none is named); nothing of theirs is
        delivered after this returns."""
        self._native.unsubscribe("channel", _names(channels))

    def punsubscribe(self, *patterns: _Name) -> None:
        self._native.unsubscribe("pattern", _names(patterns))

    def sunsubscribe(self, *channels: _Name) -> None:
        self._native.unsubscribe("sharded", _names(channels))

    def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: Optional[float] = 0.0
    ) -> Optional[Dict[str, Any]]:
        """The next message dict, waiting up to ``timeout`` seconds (``None``: until one
        comes); ``None`` when none came in time. Raises ``ClosedError`` once closed and
        drained."""
        ignore = ignore_subscribe_messages or self._ignore
        deadline = _deadline(timeout)
        while True:
            msg = self._native.get(_left(deadline))
            if msg is None or _keep(msg, ignore):
                return msg  # type: ignore[no-any-return]

    def listen(self) -> Iterator[Dict[str, Any]]:
        """Every message until ``close()``."""
        from ._slotwise import ClosedError

        while True:
            try:
                msg = self._native.get(None)
            except ClosedError:
                return
            if _keep(msg, self._ignore):
                yield msg

    def __enter__(self) -> PubSub:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncPubSub(_PubSubBase):
    """``PubSub`` for asyncio: the same methods, awaitable; ``async for msg in p.listen()``."""

    __slots__ = ()

    async def subscribe(self, *channels: _Name) -> None:
        await self._native.subscribe_async("channel", _names(channels))

    async def psubscribe(self, *patterns: _Name) -> None:
        await self._native.subscribe_async("pattern", _names(patterns))

    async def ssubscribe(self, *channels: _Name) -> None:
        await self._native.subscribe_async("sharded", _names(channels))

    async def unsubscribe(self, *channels: _Name) -> None:
        await self._native.unsubscribe_async("channel", _names(channels))

    async def punsubscribe(self, *patterns: _Name) -> None:
        await self._native.unsubscribe_async("pattern", _names(patterns))

    async def sunsubscribe(self, *channels: _Name) -> None:
        await self._native.unsubscribe_async("sharded", _names(channels))

    async def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: Optional[float] = 0.0
    ) -> Optional[Dict[str, Any]]:
        """See ``PubSub.get_message``."""
        ignore = ignore_subscribe_messages or self._ignore
        deadline = _deadline(timeout)
        while True:
            msg = await self._native.get_async(_left(deadline))
            if msg is None or _keep(msg, ignore):
                return msg  # type: ignore[no-any-return]

    async def listen(self) -> AsyncIterator[Dict[str, Any]]:
        """Every message until ``close()``."""
        from ._slotwise import ClosedError

        while True:
            try:
                msg = await self._native.get_async(None)
            except ClosedError:
                return
            if _keep(msg, self._ignore):
                yield msg

    async def __aenter__(self) -> AsyncPubSub:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
