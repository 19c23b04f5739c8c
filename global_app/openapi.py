"""What the global app's OpenAPI document says of its routes: the query parameters (parsed by
hand in global_app/params.py, so declared here for the document only) and every answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from edgeloop.domain.fleet import SITE_STATES
from global_app.params import MAX_LIMIT, MAX_PAGE, MAX_SITE_LENGTH

_TIME = {"type": "string", "format": "date-time"}
_BOUNDS = "ISO 8601 with a timezone, from year 1000 to before 9999-12-31; empty: no bound"
_PARAMETERS: dict[str, dict[str, Any]] = {
    "site": {"type": "string", "maxLength": MAX_SITE_LENGTH, "description": "A site id"},
    "from": {**_TIME, "description": f"Start of the range, before 'to' ({_BOUNDS})"},
    "to": {**_TIME, "description": f"End of the range ({_BOUNDS})"},
    "anomalies_only": {"type": "boolean"},
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
    "cursor": {"type": "string", "description": "next_cursor of the previous page, with the same filters"},
    "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1, "description": "From 1"},
    "state": {
        "type": "string",
        "pattern": f"^\\s*({'|'.join(SITE_STATES)})?\\s*(,\\s*({'|'.join(SITE_STATES)})?\\s*)*$",
        "description": f"States to list, comma-separated, among {', '.join(SITE_STATES)}; empty: all",
    },
}


def _error(*, error: str | None = None, parameter: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "error": {"type": "string"} if error is None else {"const": error},
        "message": {"type": "string"},
    }
    if parameter:
        properties["parameter"] = {"type": "string"}
    schema = {"type": "object", "required": list(properties), "properties": properties}
    return {"application/json": {"schema": schema}}


_ANSWERS: dict[int, dict[str, Any]] = {
    400: {
        "description": "A query parameter is invalid",
        "content": _error(error="invalid_parameter", parameter=True),
    },
    401: {
        "description": "Missing or invalid bearer token (Entra ID)",
        "content": _error(error="unauthorized"),
    },
    403: {
        "description": "Signed in, but without the reader or admin role",
        "content": _error(error="forbidden"),
    },
    404: {
        "description": "No such site: it never sent a status nor scored in the window",
        "content": _error(error="not_found"),
    },
    503: {
        "description": "Signing keys cannot be fetched (see Retry-After)",
        "content": _error(error="auth_unavailable"),
    },
}


def query_parameters(*names: str) -> dict[str, Any]:
    """``openapi_extra`` declaring the query parameters ``names``."""
    return {
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": _PARAMETERS[name]} for name in names
        ]
    }


def body(schema: dict[str, Any], description: str) -> dict[int | str, dict[str, Any]]:
    """``responses`` entry documenting a 200 answer's JSON body."""
    return {200: {"description": description, "content": {"application/json": {"schema": schema}}}}


def answers(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: _ANSWERS[code] for code in status_codes}


@dataclass(frozen=True)
class DocsSignIn:
    """Sign-in on the API docs page (Swagger UI): authorization code with PKCE, a public client."""

    client_id: str
    scopes: tuple[str, ...]
    discovery_url: str

    def init_oauth(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "usePkceWithAuthorizationCodeGrant": True,
            "scopes": " ".join(self.scopes),
        }


def install_security_schemes(app: FastAPI, docs: DocsSignIn) -> None:
    """Declare the sign-in (OpenID Connect) and bearer schemes on every /api/v1 operation."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        components = document.setdefault("components", {})
        components["securitySchemes"] = {
            "entra": {"type": "openIdConnect", "openIdConnectUrl": docs.discovery_url},
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        }
        for path, operations in document["paths"].items():
            if path.startswith("/api/v1/"):
                for operation in operations.values():
                    operation["security"] = [{"entra": list(docs.scopes)}, {"bearer": []}]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
