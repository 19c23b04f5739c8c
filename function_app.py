"""The Azure Functions app (Python v2 model): one image, blueprints chosen by EDGELOOP_ROLE.

The role is the one setting read at import: the host indexes functions by
importing this file. Everything else is read lazily, on first invocation.
"""

from __future__ import annotations

import os

import azure.functions as func

from edgeloop.config.base import read_local_settings_values
from functions.registry import DEFAULT_ROLE, register_role


def configured_role() -> str:
    # Like every setting: the environment first, then local.settings.json Values.
    role = os.environ.get("EDGELOOP_ROLE") or read_local_settings_values().get("EDGELOOP_ROLE")
    return (role or DEFAULT_ROLE).strip().lower()


app = func.FunctionApp()
register_role(app, configured_role())
