"""Completes asyncio futures from the core (called on the futures' loop)."""

from typing import Any, Iterable, Tuple
import asyncio


def settle(fut: "asyncio.Future[Any]", ok: bool, value: Any) -> None:
    """Sets FUT's result (OK) or exception, unless it was cancelled meanwhile."""
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


def settle_many(items: Iterable[Tuple["asyncio.Future[Any]", bool, Any]]) -> None:
    """settle() for each (future, ok, value): one loop callback for a batch of completions."""
    for fut, ok, value in items:
        if fut.done():
            continue
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)
