"""`make profile-get`: instructions per GET through the cluster client, counted by callgrind
(repeatable on a noisy machine, unlike wall-clock time).

The `get_loop` example runs N sequential GETs against a fresh 3x1 loopback cluster; it runs
under `valgrind --tool=callgrind` with N = N1 and N = N2 and the difference in instructions is
divided by N2 - N1, so start-up, connection and discovery costs cancel out. Background work
that scales with wall time (the health probe, periodic refresh) does not cancel; it is a few
percent here, which is why each N runs REPEAT times and the median is kept. The callgrind
files stay in target/profile/ for `callgrind_annotate`.

    make profile-get                     # PROFILE_N1=1000 PROFILE_N2=6000 PROFILE_REPEAT=3
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys

from common import REPO, harness, log

N1 = int(os.environ.get("PROFILE_N1", "1000"))
N2 = int(os.environ.get("PROFILE_N2", "6000"))
REPEAT = int(os.environ.get("PROFILE_REPEAT", "3"))
BIN = REPO / "target" / "release" / "examples" / "get_loop"
OUT = REPO / "target" / "profile"


def instructions(seeds: str, n: int, run: int) -> int:
    out = OUT / f"callgrind.get_loop.n{n}.{run}.out"
    res = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(BIN),
                          "--seeds", seeds, "--n", str(n)], capture_output=True, text=True, timeout=600)
    m = re.search(r"Collected : (\d+)", res.stderr)
    if res.returncode != 0 or not m:
        sys.exit(f"callgrind run failed (rc {res.returncode}):\n{res.stderr[-1500:]}")
    return int(m.group(1))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    d = harness.start_cluster(3, 1)
    try:
        seeds = ",".join(d["seeds"])
        small = [instructions(seeds, N1, r) for r in range(REPEAT)]
        big = [instructions(seeds, N2, r) for r in range(REPEAT)]
    finally:
        harness.stop(d["dir"])
    per = (statistics.median(big) - statistics.median(small)) / (N2 - N1)
    spread = (max(big) - min(small)) / (N2 - N1), (min(big) - max(small)) / (N2 - N1)
    log(f"instructions: N={N1}: {small}; N={N2}: {big}")
    print(f"instructions per GET: {per:,.0f} (range {spread[1]:,.0f}-{spread[0]:,.0f}); "
          f"callgrind files in {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
