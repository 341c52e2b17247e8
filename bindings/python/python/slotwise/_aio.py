"""Completes an asyncio future from the core (called on the future's loop)."""

from typing import Any
import asyncio


def settle(fut: "asyncio.Future[Any]", ok: bool, value: Any) -> None:
    """Sets FUT's result (OK) or exception, unless it was cancelled meanwhile."""
    if fut.done():
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)
