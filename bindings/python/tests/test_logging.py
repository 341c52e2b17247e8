"""The core's tracing events reach the Python logger ``slotwise``."""

from __future__ import annotations

import logging
from typing import Any

import slotwise
from conftest import kill_connections, wait_until


def test_core_events_reach_python_logging(address: str, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="slotwise")
    # The level is read when a client is created.
    with slotwise.Client.standalone(address, client_name="logtest") as watched:
        assert watched.ping() is True
        assert kill_connections(address, "logtest") >= 1

        def logged() -> bool:
            return any(
                r.name.startswith("slotwise") and "connection ended" in r.getMessage()
                for r in caplog.records
            )

        wait_until(logged, 5, "a 'connection ended' log record")
        record = next(r for r in caplog.records if "connection ended" in r.getMessage())
        assert record.levelno == logging.DEBUG
        assert record.name.startswith("slotwise.")
        assert watched.ping() is True  # reconnected by itself
    caplog.set_level(logging.WARNING, logger="slotwise")
    with slotwise.Client.standalone(address):
        pass  # restores the threshold read from the logger
