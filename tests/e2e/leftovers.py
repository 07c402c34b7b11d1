"""After ``make e2e``: fail if any process the suite started is still running (and kill it).

Every process of the suite carries ``RUNS_E2E_MARKER`` in its environment (see ``stack.py``),
so the check finds them whatever they were re-parented to.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

MARKER = b"RUNS_E2E_MARKER="


def leftover_processes() -> dict[int, str]:
    """``{pid: command line}`` of every live process carrying the marker."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if any(item.startswith(MARKER) for item in environ.split(b"\0")):
            found[int(entry.name)] = cmdline.strip()
    return found


def main() -> int:
    """Report and kill leftovers; exit 1 when there were any."""
    found = leftover_processes()
    for pid, cmdline in found.items():
        print(f"left running: {pid} {cmdline}", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    print(f"e2e processes left running: {len(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
