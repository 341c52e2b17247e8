"""Transactions (``pipeline(transaction=True)``: WATCH / MULTI / EXEC on one connection held
for the transaction, all keys in one slot) and scripts (``register_script``: EVALSHA that
loads the script on the node answering NOSCRIPT), in the shape of redis-py.
"""

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

from . import _commands
from ._client import _PipelineBase
from ._slotwise import InvalidArgumentError, WatchError


class _TransactionBase(_PipelineBase):
    __slots__ = ("_tx", "_watching", "_multi")

    def __init__(self, native: Any) -> None:
        super().__init__(native)
        self._tx = native.transaction()
        self._watching = False
        self._multi = False

    def multi(self) -> None:
        """Ends immediate mode after ``watch``: later commands are queued for EXEC."""
        if self._multi:
            raise InvalidArgumentError("multi() was already called")
        if self._cmds:
            raise InvalidArgumentError("multi() must come before any queued command")
        self._multi = True

    def _check_watch(self) -> None:
        if self._multi or self._cmds:
            raise InvalidArgumentError("watch() must come before multi() and queued commands")

    def _immediate(self) -> bool:
        return self._watching and not self._multi

    def reset(self) -> None:
        """Forgets the queued commands and ends the transaction (closing its connection, so
        any WATCH ends too); the pipeline can be used again."""
        self._tx.reset()
        self._tx = self._native.transaction()
        self._cmds = []
        self._watching = False
        self._multi = False

    def _done(self, replies: Any, parsers: Sequence[_commands.Parse], raise_on_error: bool) -> List[Any]:
        self.reset()
        if replies is None:
            raise WatchError("a watched key changed before EXEC: nothing was applied")
        return self._finish(replies, parsers, raise_on_error)

    def _take_all(self) -> Tuple[List[Tuple[Any, ...]], List[_commands.Parse]]:
        return self._take()


class TransactionPipeline(_TransactionBase):
    """``client.pipeline(transaction=True)``: the queued commands run as one MULTI/EXEC on
    the primary of their slot (every key must share one slot: use a hash tag). After
    ``watch(*keys)`` commands run at once on the transaction's connection (read what you
    need), until ``multi()``; then they are queued. ``execute()`` raises ``WatchError`` when a
    watched key changed (nothing applied), ``ExecAbortError`` when a command was refused while
    queueing (nothing applied)."""

    __slots__ = ()

    def watch(self, *keys: Any) -> None:
        """WATCHes ``keys`` on the transaction's connection and enters immediate mode."""
        self._check_watch()
        self._tx.watch(keys)
        self._watching = True

    def _run(self, args: Tuple[Any, ...], parse: _commands.Parse) -> Any:
        if self._immediate():
            reply = self._tx.query(args)
            return reply if parse is None else parse(reply)
        return super()._run(args, parse)

    def execute(self, raise_on_error: bool = True) -> List[Any]:
        """MULTI, the queued commands, EXEC; the replies in order (see ``Pipeline.execute``
        for ``raise_on_error``)."""
        cmds, parsers = self._take_all()
        if not cmds and not self._watching:
            self.reset()
            return []
        try:
            replies = self._tx.execute(cmds)
        except BaseException:
            self.reset()
            raise
        return self._done(replies, parsers, raise_on_error)

    def __enter__(self) -> TransactionPipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reset()


class AsyncTransactionPipeline(_TransactionBase):
    """``TransactionPipeline`` for ``AsyncClient``: ``await p.watch(...)``; in immediate mode
    command methods return awaitables; queued ones are plain calls; ``await p.execute()``."""

    __slots__ = ()

    async def watch(self, *keys: Any) -> None:
        """WATCHes ``keys``; see ``TransactionPipeline.watch``."""
        self._check_watch()
        await self._tx.watch_async(keys)
        self._watching = True

    def _run(self, args: Tuple[Any, ...], parse: _commands.Parse) -> Any:
        if self._immediate():
            return self._query(args, parse)
        return super()._run(args, parse)

    async def _query(self, args: Tuple[Any, ...], parse: _commands.Parse) -> Any:
        reply = await self._tx.query_async(args)
        return reply if parse is None else parse(reply)

    async def execute(self, raise_on_error: bool = True) -> List[Any]:
        """See ``TransactionPipeline.execute``."""
        cmds, parsers = self._take_all()
        if not cmds and not self._watching:
            self.reset()
            return []
        try:
            replies = await self._tx.execute_async(cmds)
        except BaseException:
            self.reset()
            raise
        return self._done(replies, parsers, raise_on_error)

    def __enter__(self) -> AsyncTransactionPipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reset()

    async def __aenter__(self) -> AsyncTransactionPipeline:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.reset()


class Script:
    """``client.register_script(body)``: call it as ``script(keys=[...], args=[...])``. Runs
    with EVALSHA on the node owning the keys (one slot); a node that does not have the script
    (a new primary after a failover, a restart) gets it with SCRIPT LOAD and the call goes
    on, inside the request's deadline."""

    __slots__ = ("_native", "_body", "_read_only")

    def __init__(self, native: Any, body: Any, read_only: bool = False) -> None:
        if not isinstance(body, (str, bytes)):
            raise TypeError(f"a script body is str or bytes, not {type(body).__name__}")
        self._native = native
        self._body = body
        self._read_only = read_only

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        return self._native.run_script((self._body,), tuple(keys), tuple(args), self._read_only)


class AsyncScript(Script):
    """``Script`` for ``AsyncClient``: ``await script(keys=[...], args=[...])``."""

    __slots__ = ()

    async def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:  # type: ignore[override]
        return await self._native.run_script_async(
            (self._body,), tuple(keys), tuple(args), self._read_only
        )


_commands.install(TransactionPipeline, _commands.sync_method)
_commands.install(AsyncTransactionPipeline, _commands.sync_method)
