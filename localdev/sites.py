"""The local system's sites: one plant each, with everything a plant keeps to itself.

A site is its own Azurite storage account (as each Azure Stack Hub has its own), a
scoring app on its own port, an outbox, a model cache and a pseudonymization key in
its own state directory, and an edge Functions host on its account's queue. All sites
share the cloud, and reach its model registry with a read-only SAS only.

A one-site system keeps the layout from before fleets: site ``site-local`` on the
``edge`` account, its state straight in var/, serving the bundle in ``SCORING_MODEL_DIR``.
A fleet's sites are ``site-1`` ... on accounts ``site1`` ..., their state in
``var/sites/<site id>/``, and they start with no bundle of their own: each bootstraps,
fetching and verifying the registry's champion (then served from its cache after a restart).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from localdev.azurite import Azurite
from localdev.example_models import ExampleModel
from localdev.processes import FUNCTIONS_HOST, Component, ComponentExited, local_secret

SINGLE_SITE_ID = "site-local"
SINGLE_SITE_ACCOUNT = "edge"
MAX_SITES = 20  # each site is two processes; more is a load test, not a local system


@dataclass(frozen=True)
class Site:
    site_id: str
    account: str  # its Azurite storage account
    port: int  # its scoring app
    state: Path | None  # its own state directory; None: the single site, whose state is var/ itself

    @property
    def in_fleet(self) -> bool:
        return self.state is not None

    def name(self, component: str) -> str:
        """A component's name, with the site's id when there are several sites."""
        return f"{component} ({self.site_id})" if self.in_fleet else component


def plan_sites(count: int, var: Path, port_of: Callable[[int], int]) -> tuple[Site, ...]:
    """``count`` sites; ``port_of(i)`` is the scoring port of the i-th (0-based)."""
    if not 1 <= count <= MAX_SITES:
        raise ValueError(f"sites: between 1 and {MAX_SITES}, got {count}")
    if count == 1:
        return (Site(SINGLE_SITE_ID, SINGLE_SITE_ACCOUNT, port_of(0), None),)
    return tuple(
        Site(f"site-{i + 1}", f"site{i + 1}", port_of(i), var / "sites" / f"site-{i + 1}")
        for i in range(count)
    )


def site_components(site: Site) -> tuple[Component, ...]:
    """A site's children, in start order."""
    queues = f"account {site.account} queues" if site.in_fleet else "edge account queues"
    return (
        Component(site.name("scoring app"), "scoring_app", port=site.port, site=site.site_id),
        Component(
            site.name("edge functions"), FUNCTIONS_HOST, ("--role", "edge"), serves=queues, site=site.site_id
        ),
    )


def site_environment(site: Site, azurite: Azurite, example: ExampleModel, models_var: Path) -> dict[str, str]:
    """What a fleet's site has of its own, over the shared environment (the single site: nothing).

    Set, not defaulted: one variable in the runner's environment cannot stand for several sites.
    """
    if site.state is None:
        return {}
    storage = azurite.connection_string(site.account)
    state = site.state
    return {
        "EDGELOOP_SITE_ID": site.site_id,
        "EdgeStorage": storage,
        "AzureWebJobsStorage": storage,
        "SCORING_PORT": str(site.port),
        # The site's pseudonymization key: generated for this site, never leaves it.
        "EDGELOOP_SITE_HMAC_KEY": local_secret(
            "EDGELOOP_SITE_HMAC_KEY", state / "local" / "site-hmac-key", from_environment=False
        ),
        "SCORING_OUTBOX_PATH": str(state / "edge" / "outbox.sqlite3"),
        # Its model volume, empty: a new site serves the champion it fetches and verifies itself.
        "SCORING_MODEL_DIR": str(state / "edge" / "seed"),
        "SCORING_MODEL_CACHE_DIR": example.settings(models_var, state)["SCORING_MODEL_CACHE_DIR"],
    }


def cohort_line(shared: dict[str, str], site_id: str) -> str | None:
    """The champion line ``RETRAIN_COHORTS`` gives ``site_id`` (None: the fleet's, ``MODEL_NAME``)."""
    from edgeloop.domain.model_lines import parse_cohorts

    text = shared.get("RETRAIN_COHORTS")
    if not text:
        return None
    base = shared.get("MODEL_NAME", "ai4i-failure")
    line = parse_cohorts(base, json.loads(text)).line_of(site_id)
    return None if line == base else line


def wait_until_serving(component: Component, process: subprocess.Popen[bytes], timeout: float) -> str:
    """Wait for a site's scoring app to be ready (its model loaded); the version it serves.

    Fails at once if it exits, and after ``timeout`` with the reason its ``/readyz`` gives.
    """
    deadline = time.monotonic() + timeout
    detail = "no answer"
    while True:
        if process.poll() is not None:
            raise ComponentExited(f"{component.name} exited with code {process.returncode} while starting")
        try:
            answer = httpx.get(f"{component.url}readyz", timeout=5).json()
        except (httpx.HTTPError, ValueError) as exc:
            answer, detail = {}, str(exc)
        if answer.get("status") == "ready":
            return str(answer["checks"]["model"]["version"])
        detail = str(answer.get("detail", detail))
        if time.monotonic() > deadline:
            raise TimeoutError(f"{component.name} not ready after {timeout:.0f} s: {detail}")
        time.sleep(0.2)


def write_fleet_file(path: Path, components: Sequence[Component]) -> None:
    """Which sites there are and where each scoring app listens, for ``edgeloop replay --fleet``."""
    sites = [
        {"site_id": c.site, "url": c.url.rstrip("/")}
        for c in components
        if c.site is not None and c.url is not None
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sites": sites}, indent=2) + "\n", encoding="utf-8")
