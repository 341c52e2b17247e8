"""What bench/run.py (throughput) and bench/recovery.py (the bad day) share: the harness, child
processes measured with their own peak RSS, medians and ratios, Markdown tables and the README
section the suite rewrites. Stdlib only."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
sys.path.insert(0, str(REPO / "tests" / "harness"))
os.environ.setdefault("SLOTWISE_HARNESS_ROOT", str(REPO / "target" / "slotwise-harness"))

import slotwise_harness as harness  # noqa: E402

RUST_DRIVER = REPO / "target" / "release" / "examples" / "throughput"
NODE_DEPS = Path(os.environ.get("BENCH_NODE_DEPS", REPO / "target" / "bench-node"))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Child:
    """A process started with stdout in a file; `finish` reaps it with wait4 for its peak RSS."""

    def __init__(self, argv: Sequence[str], env: Optional[Dict[str, str]] = None):
        self.argv = list(argv)
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()
        self.reaped: Optional[Tuple[int, Any]] = None
        self.proc = subprocess.Popen(self.argv, stdout=self.out, stderr=self.err,
                                     stdin=subprocess.PIPE, env={**os.environ, **(env or {})})

    def peek(self) -> str:
        """What the child printed so far."""
        return os.pread(self.out.fileno(), 1 << 20, 0).decode(errors="replace")

    def poll(self) -> bool:
        """Whether it exited (reaped here, with wait4, so its peak RSS is kept)."""
        if self.reaped is None:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.reaped = (status, usage)
        return self.reaped is not None

    def finish(self, timeout: float) -> Dict[str, Any]:
        """Waits (killing it after `timeout` s); returns stdout, stderr, status and peak RSS (MB)."""
        deadline = time.monotonic() + timeout
        while not self.poll():
            if time.monotonic() > deadline:
                self.proc.kill()
                _, status, usage = os.wait4(self.proc.pid, 0)
                self.reaped = (status, usage)
                break
            time.sleep(0.02)
        status, usage = self.reaped  # type: ignore[misc]
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.out.seek(0)
        self.err.seek(0)
        return {"rc": self.proc.returncode, "stdout": self.out.read().decode(errors="replace"),
                "stderr": self.err.read().decode(errors="replace"), "rss_mb": usage.ru_maxrss / 1024}


def last_json(text: str) -> Optional[Dict[str, Any]]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)  # type: ignore[no-any-return]
            except ValueError:
                return None
    return None


def have_python_module(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


def have_node_peer(name: str) -> bool:
    return (NODE_DEPS / "node_modules" / name / "package.json").exists()


def have_tool(name: str) -> bool:
    return shutil.which(name) is not None


def median(xs: List[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def ratio(ours: float, peer: Optional[float]) -> Optional[float]:
    if peer is None or not peer or ours != ours:
        return None
    return ours / peer


def fmt_ratio(r: Optional[float]) -> str:
    return "–" if r is None else f"{r:.2f}×"


def md_table(header: List[str], rows: List[List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_results(name: str, data: Dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown + "\n")
    log(f"wrote bench/results/{name}.json and bench/results/{name}.md")


def update_readme(marker: str, markdown: str) -> None:
    """Replaces README.md's text between `<!-- MARKER:start -->` and `<!-- MARKER:end -->`."""
    readme = REPO / "README.md"
    text = readme.read_text()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        log(f"README.md has no {start} ... {end} section; left as it is")
        return
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{markdown}\n{end}{tail}")
    log(f"updated the {marker} section of README.md")


def machine() -> Dict[str, Any]:
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "load_avg_1m_at_start": round(load[0], 2),
            "python": sys.version.split()[0],
            "redis_server": subprocess.run(["redis-server", "--version"], capture_output=True,
                                           text=True).stdout.strip()}
