"""The .pyi stubs match the package as built (mypy.stubtest when mypy is installed, else a
comparison of public names)."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import slotwise
import slotwise._slotwise

PKG = Path(slotwise.__file__).parent


def test_py_typed_and_stubs_ship() -> None:
    assert (PKG / "py.typed").exists()
    assert (PKG / "_slotwise.pyi").exists()
    assert (PKG / "_client.pyi").exists()


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_stubtest() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "slotwise"],
        capture_output=True,
        text=True,
        cwd="/",  # the installed package, not a source checkout on sys.path
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_stub_names_match_compiled_module() -> None:
    tree = ast.parse((PKG / "_slotwise.pyi").read_text())
    stubbed = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    runtime = {n for n in dir(slotwise._slotwise) if not n.startswith("_")}
    assert stubbed == runtime
