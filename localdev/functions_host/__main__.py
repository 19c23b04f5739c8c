"""``python -m localdev.functions_host --role edge [--app ...] [--host-json ...] [--local-settings ...]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from edgeloop.bootstrap.tracing import configure_logging
from localdev.functions_host.host import FunctionsHost, HostOptions
from localdev.functions_host.host_config import HostConfigError
from localdev.functions_host.loader import FunctionAppError
from localdev.functions_host.settings import MissingSettingError

log = logging.getLogger("localdev.functions_host")


def parse_args(argv: list[str] | None) -> HostOptions:
    parser = argparse.ArgumentParser(prog="python -m localdev.functions_host", description=__doc__)
    parser.add_argument("--role", help="sets EDGELOOP_ROLE before the app is imported (edge, cloud, all)")
    parser.add_argument("--app", type=Path, default=Path("function_app.py"), help="the function app module")
    parser.add_argument("--host-json", type=Path, help="default: host.json beside the app")
    parser.add_argument("--local-settings", type=Path, help="default: local.settings.json beside the app")
    parser.add_argument(
        "--shutdown-timeout", type=float, default=30.0, help="seconds given to running invocations on stop"
    )
    args = parser.parse_args(argv)
    return HostOptions(
        app_path=args.app,
        host_json=args.host_json,
        local_settings=args.local_settings,
        role=args.role,
        shutdown_timeout=args.shutdown_timeout,
    )


async def serve(host: FunctionsHost, shutdown_timeout: float) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return await host.run(stop, shutdown_timeout)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDK logs every HTTP call at INFO
    configure_logging()  # LOG_FORMAT=json: JSON lines with the trace ids
    options = parse_args(argv)
    try:
        host = FunctionsHost.load(options)
        # Listeners resolve their connections and schedules first, so these errors come before any work.
        unfinished = asyncio.run(serve(host, options.shutdown_timeout))
    except (MissingSettingError, FunctionAppError, HostConfigError) as exc:
        log.error("cannot start the functions host: %s", exc)
        return 2
    if unfinished:
        # Their threads cannot be stopped; leave without waiting (their messages reappear later).
        logging.shutdown()
        os._exit(3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
