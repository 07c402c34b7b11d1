"""After ``make e2e``: fail if any process the suite started is still running (and kill it).

Two nets: the process groups the stack recorded in ``.e2e/process-groups.txt`` (every process
it started leads its own group, and children stay in it), and ``RUNS_E2E_MARKER`` in a
process's environment (for a child that left its group). The environment alone is not enough:
Airflow's processes set their title with setproctitle, which overwrites ``/proc/<pid>/environ``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

from stack import OUTPUT_DIR, PROCESS_GROUPS_FILE

MARKER = b"RUNS_E2E_MARKER="
GROUPS_FILE = OUTPUT_DIR / PROCESS_GROUPS_FILE


def recorded_groups() -> set[int]:
    """The process groups the stack started (empty when it started none)."""
    if not GROUPS_FILE.exists():
        return set()
    return {int(line) for line in GROUPS_FILE.read_text().split() if line.strip().isdigit()}


def leftover_processes() -> dict[int, str]:
    """``{pid: command line}`` of every live process in a recorded group or carrying the marker."""
    groups = recorded_groups()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        state, _ppid, pgid = stat.rsplit(")", 1)[1].split()[:3]
        if state == "Z":  # a zombie holds nothing; its parent reaps it
            continue
        marked = any(item.startswith(MARKER) for item in environ.split(b"\0"))
        if marked or int(pgid) in groups:
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
