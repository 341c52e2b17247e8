"""The wheel `make wheel` builds installs into a fresh venv and works against a live cluster."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO


def newest_wheel() -> str | None:
    explicit = os.environ.get("SLOTWISE_WHEEL")
    if explicit:
        return explicit
    wheels = glob.glob(str(REPO / "target" / "wheels" / "slotwise-*.whl"))
    return max(wheels, key=os.path.getmtime) if wheels else None


def test_wheel_in_fresh_venv(seeds: list, tmp_path: Path) -> None:
    wheel = newest_wheel()
    if wheel is None:
        pytest.skip("no wheel in target/wheels: run `make wheel` (make test-python does)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = str(venv / "bin" / "python")
    # No dependencies and no index: the wheel alone must be enough.
    subprocess.run(
        [py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", wheel],
        check=True,
        timeout=300,
    )
    script = textwrap.dedent(
        """
        import asyncio, sys, slotwise
        seeds = sys.argv[1:]
        with slotwise.Client.cluster(seeds) as r:
            assert r.set("wheel:smoke", "ok") is True
            assert r.get("wheel:smoke") == b"ok"
            with r.pipeline() as p:
                assert p.incr("wheel:a").incr("wheel:b").execute()[0] >= 1
        async def main():
            async with await slotwise.AsyncClient.cluster(seeds, decode_responses=True) as a:
                assert await a.get("wheel:smoke") == "ok"
        asyncio.run(main())
        print("smoke ok", slotwise.__version__, slotwise.__file__)
        """
    )
    out = subprocess.run(
        [py, "-c", script, *seeds], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "smoke ok" in out.stdout
    assert str(venv) in out.stdout  # imported from the fresh venv, not the source tree
