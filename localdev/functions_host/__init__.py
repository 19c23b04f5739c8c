"""A local runner for the project's Azure Functions (Python v2 model).

Azure Functions Core Tools cannot be installed here, so locally the function app
runs under this host, which follows the real host's trigger semantics (see
docs/functions-host.md for every deviation). Production uses the real host.

    python -m localdev.functions_host --role edge [--app function_app.py]
"""
