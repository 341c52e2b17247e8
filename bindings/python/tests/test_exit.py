"""A process that used the clients exits cleanly. CPython ends a foreign thread that asks for
the GIL while the interpreter finalizes, which took the whole process down (SIGSEGV/SIGABRT
at exit in about 1 run in 4 before the package's atexit gate)."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, sys, slotwise
    logging.getLogger("slotwise").setLevel(logging.DEBUG)  # the log bridge calls Python too
    seeds = sys.argv[1:]
    with slotwise.Client.cluster(seeds) as r:
        r.set("exit:k", "v")
    async def main():
        async with await slotwise.AsyncClient.cluster(seeds) as a:
            await asyncio.gather(*(a.get("exit:k") for _ in range(50)))
    asyncio.run(main())
    """
)


def test_interpreter_exit_after_use_never_crashes(seeds: list) -> None:
    crashes = []
    for _ in range(12):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, *seeds], capture_output=True, text=True, timeout=60
        )
        if out.returncode != 0:
            crashes.append((out.returncode, out.stderr[-400:]))
    assert crashes == [], crashes
