"""Development tools, outside the deployable packages: the local Functions host, the Azurite
launcher and the ``make run`` orchestrator. Nothing under ``edgeloop/``, ``scoring_app/``,
``functions/`` or ``global_app/`` imports them; container images do not contain them."""
