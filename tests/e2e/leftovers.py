"""After ``make e2e``: fail if any process the suite started is still running (and kill it).

``python tests/e2e/leftovers.py [OUTPUT_DIR]``: the suite's output folder (default ``.e2e``;
``make e2e-distributed`` passes ``.e2e-distributed``). Redis and the Celery workers of the
distributed suite are covered the same way: each leads a process group the stack recorded.

Two nets: the process groups the stack recorded in ``<OUTPUT_DIR>/process-groups.txt`` (every process
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


def recorded_groups(output_dir: Path = OUTPUT_DIR) -> set[int]:
    """The process groups the stack started in ``output_dir`` (empty when it started none)."""
    groups_file = output_dir / PROCESS_GROUPS_FILE
    if not groups_file.exists():
        return set()
    return {int(line) for line in groups_file.read_text().split() if line.strip().isdigit()}


def leftover_processes(output_dir: Path = OUTPUT_DIR) -> dict[int, str]:
    """``{pid: command line}`` of every live process in a recorded group or carrying the marker."""
    groups = recorded_groups(output_dir)
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


def main(argv: list[str]) -> int:
    """Report and kill leftovers of the suite whose output folder is ``argv[0]``; exit 1 when there
    were any."""
    found = leftover_processes(Path(argv[0]) if argv else OUTPUT_DIR)
    for pid, cmdline in found.items():
        print(f"left running: {pid} {cmdline}", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    print(f"e2e processes left running: {len(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
