"""``python -m airflow_provider_runs.testing.emulator --port N``."""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from airflow_provider_runs.testing.emulator.app import create_app
from airflow_provider_runs.testing.emulator.config import EmulatorConfig
from airflow_provider_runs.testing.emulator.ratelimit import EDGES_TIERS, INFERENCE_SH_TIERS


def parse(argv: list[str] | None = None) -> tuple[argparse.Namespace, EmulatorConfig]:
    """The command line's options and the emulator settings they give."""
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
    parser.add_argument(
        "--edges-tier",
        choices=list(EDGES_TIERS),
        default="titanium",
        help="Edges plan tier whose per-minute budgets are metered (spec §6.3)",
    )
    parser.add_argument(
        "--edges-runs-per-minute", type=int, default=None, help="override the tier's /runs/* budget"
    )
    parser.add_argument(
        "--inference-sh-limits",
        choices=list(INFERENCE_SH_TIERS),
        default="documented",
        help="inference.sh rate limits: the documented ones (spec §8.3) or none",
    )
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
        edges_rate_limit_tier=args.edges_tier,
        edges_rate_limit_per_minute=args.edges_runs_per_minute,
        inference_sh_rate_limit_tier=args.inference_sh_limits,
    )
    if args.keys:
        config.inference_sh_api_keys = args.keys
    return args, config


def main(argv: list[str] | None = None) -> int:
    args, config = parse(argv)
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
