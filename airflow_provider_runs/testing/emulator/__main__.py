"""``python -m airflow_provider_runs.testing.emulator --port N``.

Each emulated service adds its own options (``EmulatedService.add_cli_options``); an option's
``dest`` is the ``EmulatorConfig`` field it sets when given.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import sys
from typing import Any

import uvicorn

from airflow_provider_runs.testing.emulator.app import create_app
from airflow_provider_runs.testing.emulator.config import EmulatorConfig
from airflow_provider_runs.testing.emulator.service import emulated_services


def parse(argv: list[str] | None = None) -> tuple[argparse.Namespace, EmulatorConfig]:
    """The command line's options and the emulator settings they give."""
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_runs.testing.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--time-scale", dest="time_scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (state is per worker)")
    parser.add_argument(
        "--extra-router",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="mount more routes: a function (state) -> APIRouter, as package.module:function or "
        "path/to/file.py:function (e.g. benchmarks/emulator_routes.py:build_router)",
    )
    for service in emulated_services():
        service.add_cli_options(parser.add_argument_group(service.descriptor.display_name))
    args = parser.parse_args(argv)
    fields = {field.name for field in dataclasses.fields(EmulatorConfig)}  # type: ignore[arg-type]
    given: dict[str, Any] = {
        name: value for name, value in vars(args).items() if name in fields and value is not None
    }
    return args, EmulatorConfig(**given)


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; announce ``emulator listening on <url>`` once ready."""
    args, config = parse(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    host, port = sock.getsockname()[:2]
    app = create_app(config, extra_routers=args.extra_router)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        print(f"emulator listening on http://{host}:{port}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
