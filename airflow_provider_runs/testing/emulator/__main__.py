"""``python -m airflow_provider_runs.testing.emulator --port N``."""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from airflow_provider_runs.testing.emulator.app import create_app
from airflow_provider_runs.testing.emulator.config import EmulatorConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_runs.testing.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--inference-sh-key", action="append", dest="keys", help="accepted inference.sh key")
    parser.add_argument("--envelope", choices=["current", "v1", "v2"], default="current")
    parser.add_argument("--status-numbering", choices=["current", "legacy"], default="current")
    parser.add_argument("--status-names", action="store_true")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--task-duration", type=float, default=1.0)
    parser.add_argument("--inferable-step-seconds", type=float, default=0.2, help="each agent step")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (state is per worker)")
    args = parser.parse_args(argv)
    config = EmulatorConfig(
        inference_sh_envelope=args.envelope,
        inference_sh_status_numbering=args.status_numbering,
        inference_sh_status_names=args.status_names,
        time_scale=args.time_scale,
        default_task_duration=args.task_duration,
        inferable_step_seconds=args.inferable_step_seconds,
        seed=args.seed,
    )
    if args.keys:
        config.inference_sh_api_keys = args.keys
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning", access_log=False))

    async def announce() -> None:
        print(f"emulator listening on http://{host}:{port}", flush=True)

    original_startup = server.startup

    async def startup(sockets=None):
        await original_startup(sockets=sockets)
        await announce()

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
