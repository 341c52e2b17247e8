"""Client, AsyncClient and their pipelines: thin shells over ``_slotwise.NativeClient``.

Command methods (``get``, ``set``, ...) are added from ``_commands`` so they are written once
for the sync client, the async client and both pipelines.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import _commands, _url
from ._pubsub import AsyncPubSub, PubSub
from ._slotwise import NativeClient, SlotwiseError

_Seeds = Union[str, Tuple[str, int], Iterable[Union[str, Tuple[str, int]]]]

_PRIVATE = object()


def _address(a: Any) -> str:
    if isinstance(a, str):
        return a
    if isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str) and isinstance(a[1], int):
        host, port = a
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    raise TypeError(f"an address must be 'host:port' or (host, port), not {a!r}")


def _pattern(match: Any) -> Optional[bytes]:
    if match is None or isinstance(match, bytes):
        return match
    if isinstance(match, str):
        return match.encode()
    raise TypeError(f"match must be str or bytes, not {type(match).__name__}")


def _count(count: Any) -> Optional[int]:
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"count must be a positive int, got {count!r}")
    return count  # type: ignore[no-any-return]


def _seeds(seeds: Any) -> List[str]:
    """``"h:p"``, ``(h, p)`` or an iterable of them -> a list of ``"h:p"``."""
    if isinstance(seeds, (str, tuple)):
        return [_address(seeds)]
    try:
        items = list(seeds)
    except TypeError:
        raise TypeError(
            f"seeds must be 'host:port', (host, port) or a list of them, not {type(seeds).__name__}"
        ) from None
    return [_address(s) for s in items]


class _Base:
    __slots__ = ("_native", "__weakref__")

    def __init__(self, native: Any, _token: object = None) -> None:
        if _token is not _PRIVATE or not isinstance(native, NativeClient):
            raise TypeError(
                f"create a {type(self).__name__} with {type(self).__name__}.cluster(...), "
                f"{type(self).__name__}.standalone(...) or from_url(...)"
            )
        self._native = native

    @property
    def decode_responses(self) -> bool:
        """True when replies are ``str`` rather than ``bytes``."""
        return bool(self._native.decode_responses)

    def topology(self) -> Dict[str, Any]:
        """The topology in use, as plain dicts (a snapshot; no I/O)::

        {"version": int, "covered_slots": int,
         "shards": [{"slots": [(start, end), ...], "primary": node, "replicas": [node, ...]}]}

        where each node is ``{"id", "host", "port", "address", "role", "health",
        "replication_offset"}``.
        """
        return self._native.topology()  # type: ignore[no-any-return]

    def close(self) -> None:
        """Closes every connection; later calls raise ``ClosedError``. Idempotent."""
        self._native.close()

    def update_credentials(self, username: Optional[str], password: str) -> None:
        """Password rotation: connections opened from now on authenticate as ``username``
        (``None``: the default user) with ``password``; open connections stay, so no request
        is dropped. Add the new password to the ACL user, call this, then remove the old one.
        Sentinel mode: the data nodes' credentials (the sentinels keep theirs). No I/O."""
        self._native.update_credentials(username, password)

    def metrics(self) -> Dict[str, Any]:
        """Counters of what the client did to follow the deployment (no I/O): ``refreshes`` by
        trigger, ``topology_queries``, ``moved_redirects``, ``ask_redirects``, ``retries``,
        ``nodes_marked``, and ``connects``/``probes`` per ``"host:port"``."""
        return self._native.metrics()  # type: ignore[no-any-return]

    def on_event(self, callback: Callable[[Dict[str, Any]], Any]) -> None:
        """Calls ``callback(event)`` for every event from now on, on a background thread.
        ``event["type"]`` is ``"topology"`` (with ``version``, ``slots_moved``, ``failovers``,
        ``nodes_added``, ``nodes_removed``), ``"failover"`` (``old_primary``,
        ``new_primary``), ``"node_failed"`` (``address``, ``reason``, ``permanent``),
        ``"node_recovered"``, ``"sentinel_lost"`` or ``"sentinel_regained"`` (``address``).
        An exception in the callback is logged on the ``slotwise`` logger and ignored."""
        self._native.on_event(callback)

    def __repr__(self) -> str:
        shards = len(self._native.topology()["shards"]) if self._open() else "?"
        return f"<{type(self).__name__} shards={shards}>"

    def _open(self) -> bool:
        try:
            self._native.topology()
            return True
        except SlotwiseError:
            return False


class Client(_Base):
    """A blocking client for a Redis Cluster or one Redis server. Thread-safe: one client
    can serve every thread of a process. Every call releases the GIL while it waits.

    Create one with ``Client.cluster(seeds, **options)``, ``Client.standalone(address,
    **options)`` or ``slotwise.connect(url)``. Options: ``request_timeout`` (seconds, the whole
    deadline of one request, retries included; default 5), ``connect_timeout`` (default 1),
    ``username``, ``password``, ``client_name``, ``db`` (standalone only), ``protocol`` (2 or
    3, default 3), ``decode_responses`` (replies as ``str``), ``max_inflight``,
    ``max_redirects``, ``refresh_interval``, ``min_refresh_gap``; following the deployment:
    ``read_from`` (``"primary"``, ``"prefer_replica"``, ``"replicas_round_robin"``,
    ``"lowest_latency"``), ``address_remap`` (a dict ``{"host:port": "host:port"}`` or a
    callable ``(host, port) -> "host:port" | None`` applied to every announced address),
    ``resolver`` (a callable ``(host, port) -> ["host:port", ...]`` giving a startup node's
    current addresses), ``retry_unsafe_writes``, ``probe_interval``,
    ``topology_query_timeout``; Sentinel: ``sentinel_username``, ``sentinel_password``,
    ``sentinel_poll_interval``, ``sentinel_subscribe``, ``failover_fence_timeout``; Pub/Sub:
    ``pubsub_queue`` (messages held per ``pubsub()`` before new ones are dropped, default
    65536), ``pubsub_heartbeat`` (seconds: a pub/sub connection silent this long is sent a
    PING, one silent as long again is taken for dead and its subscriptions are made again;
    default 5, 0 turns it off). Callables run on the client's background threads.
    """

    __slots__ = ()

    @classmethod
    def cluster(cls, seeds: _Seeds, **options: Any) -> Client:
        """Connects to a cluster through any of ``seeds`` and discovers its topology."""
        return cls(NativeClient.cluster(_seeds(seeds), options), _PRIVATE)

    @classmethod
    def standalone(cls, address: Union[str, Tuple[str, int]], **options: Any) -> Client:
        """Connects to one server (``"host:port"`` or ``(host, port)``)."""
        return cls(NativeClient.standalone(_address(address), options), _PRIVATE)

    @classmethod
    def sentinel(cls, sentinels: _Seeds, service_name: str, **options: Any) -> Client:
        """Connects to the master the sentinels name for ``service_name`` (verified with
        ROLE) and follows it through failovers; writes are held while one is under way."""
        return cls(NativeClient.sentinel(_seeds(sentinels), service_name, options), _PRIVATE)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Client:
        """Connects as ``url`` says (see ``slotwise.connect``)."""
        t = _url.parse(url)
        opts = {**t.options, **options}
        if t.service is not None:
            return cls.sentinel(t.addresses, t.service, **opts)
        if t.cluster:
            return cls.cluster(t.addresses, **opts)
        return cls.standalone(t.addresses[0], **opts)

    def scan_iter(self, match: Optional[Union[str, bytes]] = None, count: Optional[int] = None) -> Iterator[Any]:
        """Every key of the deployment (optionally matching ``match``), from every primary in
        turn: SCAN's cursor belongs to one node. A key that exists for the whole scan is
        returned at least once."""
        scan = self._native.scan(_pattern(match), _count(count))
        while True:
            page = scan.next_page()
            if page is None:
                return
            yield from page

    def health_check(self) -> Dict[str, Any]:
        """Proves that every primary accepts a write (a short-lived probe key):
        ``{"healthy": bool, "uncovered_slots": int, "nodes": [{"address", "ok", "latency",
        "error"}]}``. Unhealthy when a primary is read-only (it was demoted), does not
        answer, or a slot has no primary."""
        return self._native.health_check()  # type: ignore[no-any-return]

    def execute(self, *args: Any) -> Any:
        """Runs any command: ``execute("SET", "k", "v")``. Arguments are bytes, str (sent as
        UTF-8), int or float; an error reply raises."""
        return self._native.execute(args)

    def pipeline(self, transaction: bool = False) -> Any:
        """A pipeline: queue commands, then ``execute()`` sends them (one batch per node).
        ``transaction=True``: a ``TransactionPipeline`` (MULTI/EXEC, optional ``watch``)."""
        if transaction:
            from ._transaction import TransactionPipeline

            return TransactionPipeline(self._native)
        return Pipeline(self._native)

    def register_script(self, script: Union[str, bytes], read_only: bool = False) -> Any:
        """A callable ``Script``: ``script(keys=[...], args=[...])`` runs it with EVALSHA,
        loading it where NOSCRIPT says it is missing. ``read_only=True`` uses EVALSHA_RO."""
        from ._transaction import Script

        return Script(self._native, script, read_only)

    def pubsub(self, ignore_subscribe_messages: bool = False) -> PubSub:
        """Pub/Sub on dedicated connections that follow failovers, node losses and slot
        moves (see ``slotwise.PubSub``)."""
        return PubSub(self._native.pubsub(), ignore_subscribe_messages)

    def refresh_topology(self) -> None:
        """Re-reads the cluster topology now and waits for it."""
        self._native.refresh_topology()

    def _run(self, args: Tuple[Any, ...], parse: _commands.Parse) -> Any:
        reply = self._native.execute(args)
        return reply if parse is None else parse(reply)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncClient(_Base):
    """The asyncio client: the same methods as ``Client``, awaitable. Many concurrent awaits
    share the same connections. ``topology()``, ``pipeline()`` and ``close()`` do no I/O and
    are plain methods.

    Create one with ``await AsyncClient.cluster(seeds, **options)``,
    ``await AsyncClient.standalone(address, **options)`` or
    ``await AsyncClient.from_url(url)``; the options are those of ``Client``.
    """

    __slots__ = ()

    @classmethod
    async def cluster(cls, seeds: _Seeds, **options: Any) -> AsyncClient:
        """Connects to a cluster through any of ``seeds`` and discovers its topology."""
        native = await NativeClient.cluster_async(_seeds(seeds), options)
        return cls(native, _PRIVATE)

    @classmethod
    async def standalone(cls, address: Union[str, Tuple[str, int]], **options: Any) -> AsyncClient:
        """Connects to one server (``"host:port"`` or ``(host, port)``)."""
        native = await NativeClient.standalone_async(_address(address), options)
        return cls(native, _PRIVATE)

    @classmethod
    async def sentinel(cls, sentinels: _Seeds, service_name: str, **options: Any) -> AsyncClient:
        """Connects to the master the sentinels name for ``service_name``; see
        ``Client.sentinel``."""
        native = await NativeClient.sentinel_async(_seeds(sentinels), service_name, options)
        return cls(native, _PRIVATE)

    async def scan_iter(
        self, match: Optional[Union[str, bytes]] = None, count: Optional[int] = None
    ) -> AsyncIterator[Any]:
        """Every key of the deployment; see ``Client.scan_iter``. Use ``async for``."""
        scan = self._native.scan(_pattern(match), _count(count))
        while True:
            page = await scan.next_page_async()
            if page is None:
                return
            for key in page:
                yield key

    async def health_check(self) -> Dict[str, Any]:
        """Proves that every primary accepts a write; see ``Client.health_check``."""
        return await self._native.health_check_async()  # type: ignore[no-any-return]

    @classmethod
    async def from_url(cls, url: str, **options: Any) -> AsyncClient:
        """Connects as ``url`` says (see ``slotwise.connect``)."""
        t = _url.parse(url)
        opts = {**t.options, **options}
        if t.service is not None:
            return await cls.sentinel(t.addresses, t.service, **opts)
        if t.cluster:
            return await cls.cluster(t.addresses, **opts)
        return await cls.standalone(t.addresses[0], **opts)

    async def execute(self, *args: Any) -> Any:
        """Runs any command: ``await execute("SET", "k", "v")``."""
        return await self._native.execute_async(args)

    def pipeline(self, transaction: bool = False) -> Any:
        """A pipeline: queue commands (plain calls), then ``await p.execute()``.
        ``transaction=True``: an ``AsyncTransactionPipeline``."""
        if transaction:
            from ._transaction import AsyncTransactionPipeline

            return AsyncTransactionPipeline(self._native)
        return AsyncPipeline(self._native)

    def register_script(self, script: Union[str, bytes], read_only: bool = False) -> Any:
        """An awaitable ``Script``: ``await script(keys=[...], args=[...])``."""
        from ._transaction import AsyncScript

        return AsyncScript(self._native, script, read_only)

    def pubsub(self, ignore_subscribe_messages: bool = False) -> AsyncPubSub:
        """``Client.pubsub`` for asyncio: awaitable methods, ``async for m in p.listen()``."""
        return AsyncPubSub(self._native.pubsub(), ignore_subscribe_messages)

    async def refresh_topology(self) -> None:
        """Re-reads the cluster topology now and waits for it."""
        await self._native.refresh_topology_async()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()


class _PipelineBase:
    __slots__ = ("_native", "_cmds")

    def __init__(self, native: Any) -> None:
        self._native = native
        self._cmds: List[Tuple[Tuple[Any, ...], _commands.Parse]] = []

    def add(self, *args: Any) -> Any:
        """Queues any command: ``p.add("SET", "k", "v")``. Returns the pipeline."""
        return self._run(args, None)

    def _run(self, args: Tuple[Any, ...], parse: _commands.Parse) -> Any:
        self._cmds.append((args, parse))
        return self

    def __len__(self) -> int:
        return len(self._cmds)

    def reset(self) -> None:
        """Forgets the queued commands."""
        self._cmds = []

    def _take(self) -> Tuple[List[Tuple[Any, ...]], List[_commands.Parse]]:
        cmds, self._cmds = self._cmds, []
        return [c for c, _ in cmds], [p for _, p in cmds]

    @staticmethod
    def _finish(
        replies: Sequence[Any], parsers: Sequence[_commands.Parse], raise_on_error: bool
    ) -> List[Any]:
        out: List[Any] = []
        first_error: Optional[BaseException] = None
        for reply, parse in zip(replies, parsers):
            if isinstance(reply, SlotwiseError):
                first_error = first_error or reply
            elif parse is not None:
                try:
                    reply = parse(reply)
                except Exception as e:  # a reply of an unexpected shape
                    reply = e
                    first_error = first_error or e
            out.append(reply)
        if raise_on_error and first_error is not None:
            raise first_error
        return out


class Pipeline(_PipelineBase):
    """Commands queued with the client's command methods (each returns the pipeline, so calls
    chain) or ``add(*args)``, sent by ``execute()`` in one batch per node, replies in order.
    Not atomic (no MULTI): each command runs on its own. Leaving a ``with`` block without
    ``execute()`` discards the queue.
    """

    __slots__ = ()

    def execute(self, raise_on_error: bool = True) -> List[Any]:
        """Sends the queued commands and returns their replies in order. With
        ``raise_on_error=True`` the first error is raised after every command has run; with
        ``False`` each failed command's exception stands in its place in the list."""
        cmds, parsers = self._take()
        if not cmds:
            return []
        return self._finish(self._native.pipeline(cmds), parsers, raise_on_error)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reset()


class AsyncPipeline(_PipelineBase):
    """``Pipeline`` for ``AsyncClient``: queueing is a plain call, ``await p.execute()``
    sends. Use it with ``with`` or ``async with``."""

    __slots__ = ()

    async def execute(self, raise_on_error: bool = True) -> List[Any]:
        """Sends the queued commands; see ``Pipeline.execute``."""
        cmds, parsers = self._take()
        if not cmds:
            return []
        replies = await self._native.pipeline_async(cmds)
        return self._finish(replies, parsers, raise_on_error)

    def __enter__(self) -> AsyncPipeline:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.reset()

    async def __aenter__(self) -> AsyncPipeline:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.reset()


_commands.install(Client, _commands.sync_method)
_commands.install(Pipeline, _commands.sync_method)
_commands.install(AsyncPipeline, _commands.sync_method)
_commands.install(AsyncClient, _commands.async_method)


def connect(url: str, **options: Any) -> Client:
    """A ``Client`` for ``url``: ``redis://[user:password@]host:port[/db]`` for one server,
    ``redis+cluster://[user:password@]host:port,host:port`` for a cluster,
    ``redis+sentinel://host:port,host:port/service_name[/db]`` for Sentinel; options as query
    parameters (``?request_timeout=2&decode_responses=true``) or keyword arguments."""
    return Client.from_url(url, **options)
