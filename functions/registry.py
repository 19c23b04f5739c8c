"""Which blueprints each role serves. One image runs either role (setting EDGELOOP_ROLE).

Modules are imported only for the role asked for, so an edge container never
imports cloud code (nor its dependencies). Each module exposes ``bp``, a
``func.Blueprint``. To add a blueprint: append its module name to its role.
"""

from __future__ import annotations

import importlib

import azure.functions as func

BLUEPRINTS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "edge": ("functions.edge",),
    "cloud": (
        "functions.cloud_global",
        "functions.cloud_http",
        "functions.cloud_powerbi",
        "functions.cloud_retraining",
        "functions.cloud_lake",
    ),
}
ROLES = ("edge", "cloud", "all")
DEFAULT_ROLE = "all"


class UnknownRoleError(ValueError):
    def __init__(self, role: str) -> None:
        super().__init__(f"EDGELOOP_ROLE={role!r} is not a role: use one of {', '.join(ROLES)}")
        self.role = role


def blueprint_modules(role: str) -> tuple[str, ...]:
    if role == "all":
        return tuple(name for names in BLUEPRINTS_BY_ROLE.values() for name in names)
    if role not in BLUEPRINTS_BY_ROLE:
        raise UnknownRoleError(role)
    return BLUEPRINTS_BY_ROLE[role]


def register_role(app: func.FunctionApp, role: str) -> list[str]:
    """Register the role's blueprints on ``app``; returns the module names registered."""
    modules = blueprint_modules(role)
    for name in modules:
        blueprint = importlib.import_module(name).bp
        app.register_functions(blueprint)
    return list(modules)
