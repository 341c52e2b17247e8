"""The asyncio side of the bridge: one LoopWaker per event loop (see src/asyncio.rs).

A finished request queues its result on its loop's waker and, if nothing was queued, writes
the waker's eventfd; the loop, watching that fd with add_reader, wakes on its own thread and
settles every queued future. No other thread ever takes the GIL to complete a request.
"""

from typing import Any
import asyncio
import weakref

from ._slotwise import LoopWaker

_wakers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopWaker]" = weakref.WeakKeyDictionary()


def waker(loop: "asyncio.AbstractEventLoop") -> Any:
    """LOOP's waker, made and registered with loop.add_reader on first use."""
    w = _wakers.get(loop)
    if w is None:
        w = LoopWaker()
        loop.add_reader(w.fileno(), w.drain)
        _wakers[loop] = w
    return w
