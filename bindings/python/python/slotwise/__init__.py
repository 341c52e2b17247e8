"""slotwise: a Redis Cluster and standalone client that never stays broken because its picture
of the deployment is stale. Sync (``Client``) and asyncio (``AsyncClient``) clients over one
Rust core.

Errors: every exception derives from ``SlotwiseError`` and carries ``code`` (stable int),
``kind`` (stable name) and ``may_have_run`` (True when a command was sent but its outcome is
unknown: a write may have been applied, so it was not retried). Classes by kind:
CONNECT ConnectionError, IO ConnectionLostError, TIMEOUT TimeoutError, BUSY BusyError,
PROTOCOL ProtocolError, SERVER ResponseError, CLUSTERDOWN ClusterDownError, TRYAGAIN
TryAgainError, CROSSSLOT CrossSlotError, READONLY ReadOnlyError, LOADING LoadingError,
MASTERDOWN MasterDownError, AUTH AuthenticationError, INVALID_ARGUMENT InvalidArgumentError,
NO_ROUTE NoRouteError, TOO_MANY_REDIRECTS TooManyRedirectsError, CLOSED ClosedError,
TOPOLOGY TopologyError, EXECABORT ExecAbortError; ``WatchError`` (a watched key changed
before EXEC) has no kind. ``ConnectionError`` and ``TimeoutError`` also derive from the
builtins of the same names, ``InvalidArgumentError`` from ``ValueError``.

Logging: the core's log events go to the ``logging`` logger ``slotwise``; its level is read
when a client is created.
"""

import atexit as _atexit

from ._client import AsyncClient, AsyncPipeline, Client, Pipeline, connect
from ._transaction import AsyncScript, AsyncTransactionPipeline, Script, TransactionPipeline
from ._pubsub import AsyncPubSub, PubSub
from ._slotwise import (
    AuthenticationError,
    BusyError,
    ClosedError,
    ClusterDownError,
    ConnectionError,
    ConnectionLostError,
    CrossSlotError,
    ExecAbortError,
    InvalidArgumentError,
    LoadingError,
    MasterDownError,
    NoRouteError,
    ProtocolError,
    ReadOnlyError,
    ResponseError,
    SlotwiseError,
    TimeoutError,
    TooManyRedirectsError,
    TopologyError,
    TryAgainError,
    WatchError,
    __version__,
)
from ._slotwise import at_exit as _at_exit

# Before the interpreter finalizes, the core's threads stop calling into Python (a thread that
# asks for the GIL during finalization is ended by CPython and takes the process down).
_atexit.register(_at_exit)

__all__ = [
    "AsyncClient",
    "AsyncPipeline",
    "AsyncScript",
    "AsyncTransactionPipeline",
    "AsyncPubSub",
    "AuthenticationError",
    "BusyError",
    "Client",
    "ClosedError",
    "ClusterDownError",
    "ConnectionError",
    "ConnectionLostError",
    "CrossSlotError",
    "ExecAbortError",
    "InvalidArgumentError",
    "LoadingError",
    "MasterDownError",
    "NoRouteError",
    "Pipeline",
    "PubSub",
    "ProtocolError",
    "ReadOnlyError",
    "ResponseError",
    "Script",
    "SlotwiseError",
    "TimeoutError",
    "TooManyRedirectsError",
    "TopologyError",
    "TransactionPipeline",
    "TryAgainError",
    "WatchError",
    "__version__",
    "connect",
]
