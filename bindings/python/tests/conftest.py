"""Shared fixtures: real servers from the harness CLI, started once per session (CPU is scarce:
one 3x1 cluster and one standalone server serve the whole suite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

import slotwise

REPO = Path(__file__).resolve().parents[3]
HARNESS = REPO / "tests" / "harness" / "slotwise_harness.py"
os.environ.setdefault("SLOTWISE_HARNESS_ROOT", str(REPO / "target" / "slotwise-harness"))


def harness(*args: str) -> Dict[str, Any]:
    """Runs one harness command and returns its JSON."""
    out = subprocess.run(
        [sys.executable, str(HARNESS), *args], capture_output=True, text=True, timeout=120
    )
    if out.returncode != 0:
        raise RuntimeError(f"harness {args[0]} failed: {out.stdout} {out.stderr[-2000:]}")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def cluster() -> Any:
    """A 3-primary/3-replica cluster: the harness JSON (dir, nodes, seeds)."""
    d = harness("start-cluster", "--primaries", "3", "--replicas", "1")
    yield d
    harness("stop", "--dir", d["dir"])


@pytest.fixture(scope="session")
def server() -> Any:
    """One standalone server: the harness JSON."""
    d = harness("start-standalone")
    yield d
    harness("stop", "--dir", d["dir"])


@pytest.fixture(scope="session")
def seeds(cluster: Dict[str, Any]) -> list:
    return list(cluster["seeds"])


@pytest.fixture(scope="session")
def address(server: Dict[str, Any]) -> str:
    return str(server["seeds"][0])


@pytest.fixture(scope="session")
def client(seeds: list) -> Any:
    """A sync cluster client shared by the session."""
    with slotwise.Client.cluster(seeds, request_timeout=5.0) as c:
        yield c


@pytest.fixture
def key() -> Callable[[str], str]:
    """Unique key names, so tests sharing servers never see each other's data."""
    tag = uuid.uuid4().hex[:8]
    return lambda name: f"t:{tag}:{name}"


def redis_cli(address: str, *args: str) -> str:
    """One command through redis-cli (for what a shared client connection refuses to send)."""
    host, port = address.rsplit(":", 1)
    out = subprocess.run(
        ["redis-cli", "-h", host, "-p", port, *args], capture_output=True, text=True, timeout=30
    )
    if out.returncode != 0:
        raise RuntimeError(f"redis-cli {args}: {out.stderr}")
    return out.stdout


def kill_connections(address: str, client_name: str) -> int:
    """Closes, on the server side, every connection named ``client_name``."""
    killed = 0
    for line in redis_cli(address, "CLIENT", "LIST").splitlines():
        if f" name={client_name} " in f" {line} ":
            redis_cli(address, "CLIENT", "KILL", "ID", line.split()[0].split("=")[1])
            killed += 1
    return killed


def wait_until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
