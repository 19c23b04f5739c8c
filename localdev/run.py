"""`make run`: the whole local system on embedded defaults, in the foreground.

Starts Azurite (the ``cloud`` storage account and one account per site), then
each component as a child process wired to it through the same settings the
containers use in production: per site (localdev/sites.py) a scoring app and an
edge Functions host, then the cloud (localdev/cloud.py). Ctrl-C or SIGTERM stops
everything in reverse order; if a component dies, the rest are stopped too and
the exit code says so.

``--sites N`` (``EDGELOOP_LOCAL_SITES``, default 3): how many sites.
``--free-ports``/``--var-dir``: a second system (the end-to-end tests); else 8000 (site 1),
8001 (global app), 8002, 8003 ... (sites 2, 3 ...), 10000-10002, var/.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from localdev.azurite import REPO_ROOT, Azurite
from localdev.cloud import cloud_components, publish_first_champion
from localdev.environment import STANDARD_PORTS, VAR, Ports, component_environment
from localdev.example_models import EXAMPLE_MODEL_ENV, example_model, write_powerbi_definition
from localdev.processes import Component, ComponentExited, local_secret, wait_until_listening
from localdev.site_credentials import (
    SITE_SIGNING_KEY,
    WITHHELD_FROM_SITES,
    prepare_cloud_for_sites,
    site_cloud_access,
    site_signing_keys,
    trusted_site_keys,
)
from localdev.sites import (
    Site,
    cohort_line,
    plan_sites,
    site_components,
    site_environment,
    wait_until_serving,
    write_fleet_file,
)
from localdev.summary import SummaryRow, azurite_where, print_summary, process_state

__all__ = [
    "VAR",
    "Component",
    "ComponentExited",
    "LocalSystem",
    "Ports",
    "component_environment",
    "publish_first_champion",
]

log = logging.getLogger("edgeloop.run")

START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
SITES_ENV = "EDGELOOP_LOCAL_SITES"
DEFAULT_SITES = 3


def components(sites: tuple[Site, ...], ports: Ports = STANDARD_PORTS) -> tuple[Component, ...]:
    """The children, in start order (stopped in reverse): each site's, then the cloud's."""
    return (*(c for site in sites for c in site_components(site)), *cloud_components(ports.global_app))


class LocalSystem:
    def __init__(self, var: Path = VAR, ports: Ports = STANDARD_PORTS, sites: int = 1) -> None:
        self.var = var
        self.ports = ports
        self.sites = plan_sites(sites, var, ports.site_port)
        self.components = components(self.sites, ports)
        self.azurite = Azurite(
            location=var / "azurite", blob_port=ports.blob, queue_port=ports.queue, table_port=ports.table
        )
        for site in self.sites:
            self.azurite.add_account(site.account)
        self.api_key = ""
        self.children: list[tuple[Component, subprocess.Popen[bytes]]] = []
        self.stopping = threading.Event()
        self.champion = ""
        self.site_keys: dict[str, tuple[str, str]] = {}  # site id: (private, public)

    def environment(self) -> dict[str, str]:
        return component_environment(self.azurite, self.api_key, var=self.var, ports=self.ports)

    def environment_of(self, component: Component, shared: dict[str, str]) -> dict[str, str]:
        """A site's component gets the site's own parts on top of the shared environment."""
        site = next((s for s in self.sites if s.site_id == component.site), None)
        if site is None:
            return shared
        example = example_model(shared.get(EXAMPLE_MODEL_ENV))
        env = shared | site_environment(site, self.azurite, example, VAR)
        if site.in_fleet:  # a plant of its own: the least it needs in the cloud, never the key
            env = {k: v for k, v in env.items() if k not in WITHHELD_FROM_SITES}
            env |= site_cloud_access(self.azurite, shared)
        own_key = self.site_keys.get(env.get("EDGELOOP_SITE_ID", ""))
        if own_key is not None:  # its own signing key; the cloud has the public one (trust_sites)
            env[SITE_SIGNING_KEY] = own_key[0]
        line = cohort_line(shared, site.site_id)
        if line is not None and site.state is not None:  # a cohort's site serves its line (docs/site-fit.md)
            env["SCORING_MODEL_NAME"] = line
            # The bundle cache is keyed by version: one per line, as for the example models.
            env["SCORING_MODEL_CACHE_DIR"] = str(site.state / "edge" / f"models-{line}")
        return env

    def trust_sites(self, shared: dict[str, str]) -> dict[str, str]:
        """Each site's signing key pair (kept in var/local); ``shared`` with the sites' public keys:
        the cloud checks that what each site writes is its own (docs/deployment.md)."""
        ids = [
            site.site_id if site.in_fleet else shared.get("EDGELOOP_SITE_ID", site.site_id)
            for site in self.sites
        ]
        self.site_keys = site_signing_keys(self.var, ids)
        return shared | trusted_site_keys(self.site_keys)

    def launch(self, component: Component, env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start one child (its output goes to ours)."""
        return subprocess.Popen(component.command(), cwd=REPO_ROOT, env=env)

    def start(self) -> None:
        p = self.ports
        log.info("starting Azurite on 127.0.0.1:%d-%d (data in %s)", p.blob, p.table, self.var / "azurite")
        self.azurite.start()
        self.api_key = local_secret("SCORING_API_KEY", self.var / "local" / "scoring-api-key")
        env = self.environment()
        env = self.trust_sites(env)
        log.info("publishing the served model (%s) to the registry if it has no champion", env["MODEL_NAME"])
        self.champion = publish_first_champion(env)
        prepare_cloud_for_sites(self.azurite, env)
        write_powerbi_definition(env, self.var)
        for component in self.components:
            where = component.url or component.serves
            log.info("starting %s: %s (python -m %s)", component.name, where, component.module)
            process = self.launch(component, self.environment_of(component, env))
            self.children.append((component, process))
            if component.port is not None:
                wait_until_listening(component, process, START_TIMEOUT)
                log.info("%s is listening on %s", component.name, component.url)
        self.wait_for_sites()
        write_fleet_file(self.var / "local" / "fleet.json", self.components)
        print_summary(self.summary_rows(), self.api_key, self.var)

    def wait_for_sites(self) -> None:
        """A fleet's sites bootstrap: each is ready once it serves the champion it verified."""
        for component, process in self.children:
            site = next((s for s in self.sites if s.site_id == component.site and s.in_fleet), None)
            if site is not None and component.port is not None:
                version = wait_until_serving(component, process, START_TIMEOUT)
                log.info("%s serves %s (the champion it fetched and verified)", site.site_id, version)

    def summary_rows(self) -> list[SummaryRow]:
        accounts = [*(site.account for site in self.sites), "cloud"]
        where = azurite_where(self.ports.blob, self.ports.queue, self.ports.table, accounts)
        rows = [SummaryRow("Azurite", where, process_state(self.azurite.process))]
        rows += [SummaryRow(c.name, c.url or c.serves, process_state(p)) for c, p in self.children]
        return [*rows, SummaryRow("model registry", "cloud account", f"up (champion {self.champion})")]

    def watch(self) -> int:
        """Block until a stop signal or a child exits; returns the exit code."""
        while not self.stopping.wait(0.5):
            for component, process in self.children:
                if process.poll() is not None:
                    log.error("%s exited with code %s; stopping the rest", component.name, process.returncode)
                    return 1
        return 0

    def stop(self) -> None:
        for component, process in reversed(self.children):
            if process.poll() is None:
                log.info("stopping %s", component.name)
                process.send_signal(signal.SIGTERM)
        for component, process in reversed(self.children):
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", component.name, STOP_TIMEOUT)
                process.kill()
                process.wait()
        log.info("stopping Azurite")
        self.azurite.stop()


def sites_setting(value: str | None) -> int:
    """``EDGELOOP_LOCAL_SITES`` (``make run SITES=N``): how many sites, default 3."""
    if not value:
        return DEFAULT_SITES
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{SITES_ENV}={value!r}: a number of sites, 1 or more") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localdev.run", description="the local system")
    parser.add_argument("--var-dir", type=Path, default=VAR, help="state directory (default: var/)")
    parser.add_argument(
        "--free-ports", action="store_true", help="listen on free ports instead of 8000-8003, 10000-10002"
    )
    parser.add_argument(
        "--sites",
        type=int,
        default=sites_setting(os.environ.get(SITES_ENV)),
        help=f"how many sites (default: {SITES_ENV}, else {DEFAULT_SITES})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDK logs each request's headers at INFO
    args = parse_args(argv)
    ports = Ports.free() if args.free_ports else STANDARD_PORTS
    try:
        system = LocalSystem(args.var_dir.resolve(), ports, sites=args.sites)
    except ValueError as exc:
        log.error("%s", exc)
        return 2

    def request_stop(signum: int, frame: FrameType | None) -> None:
        system.stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        system.start()
        code = system.watch()
    finally:
        system.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
