"""A local stand-in for the Power BI REST API (push datasets), on a free 127.0.0.1 port.

No Power BI exists here, so tests run the real client against this real HTTP
server (stdlib ``ThreadingHTTPServer``). It implements the endpoints the feed
and the CLI use and enforces the documented push-dataset limits the way the
service answers them:

- 401 without ``Authorization: Bearer <token>``;
- 429 with ``Retry-After`` past ``rate_limit`` POST-rows requests per
  ``rate_window`` seconds per dataset (sliding window; 120 per 60 s by default,
  configurable so tests run fast);
- 400 for more than 10,000 rows in a request, a table of more than 75 columns,
  more than 75 tables, a string longer than 4,000 characters, an unknown
  column, a value of the wrong type, an unknown data type, an unknown property
  of a dataset (the definition file's ``edgeloop`` block is not one);
- 404 for an unknown dataset or table.

Failures can be scripted (``fail_next``) to test retries. Rows are kept per
dataset and table so tests can count exactly what arrived.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MAX_ROWS = 10_000
MAX_COLUMNS = 75
MAX_TABLES = 75
MAX_STRING = 4_000
DATA_TYPES = {"int64", "double", "boolean", "bool", "datetime", "string", "decimal"}
API_PREFIX = "/v1.0/myorg"
DATASET_PROPERTIES = {"name", "defaultMode", "tables", "relationships", "datasources"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


@dataclass
class FakeDataset:
    id: str
    name: str
    retention: str
    tables: dict[str, dict[str, str]]  # table -> column -> lower-case data type
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _check_value(table: str, column: str, data_type: str, value: Any) -> None:
    if value is None:
        return
    where = f"{table}.{column}"
    ok = {
        "int64": isinstance(value, int) and not isinstance(value, bool),
        "double": isinstance(value, int | float) and not isinstance(value, bool),
        "decimal": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "bool": isinstance(value, bool),
        "string": isinstance(value, str),
        "datetime": isinstance(value, str),
    }[data_type]
    if not ok:
        raise ApiError(400, "InvalidRequest", f"{where}: value {value!r} is not a {data_type}")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise ApiError(
            400, "InvalidRequest", f"{where}: string of {len(value)} characters exceeds {MAX_STRING}"
        )
    if data_type == "datetime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, "InvalidRequest", f"{where}: {value!r} is not a DateTime") from None


def _parse_tables(body: Any) -> dict[str, dict[str, str]]:
    tables = body.get("tables") if isinstance(body, dict) else None
    if not isinstance(tables, list) or not tables:
        raise ApiError(400, "InvalidRequest", "tables: required")
    if len(tables) > MAX_TABLES:
        raise ApiError(400, "InvalidRequest", f"{len(tables)} tables exceed {MAX_TABLES}")
    return dict(_parse_table(t) for t in tables)


def _parse_table(table: Any) -> tuple[str, dict[str, str]]:
    if not isinstance(table, dict) or not isinstance(table.get("name"), str):
        raise ApiError(400, "InvalidRequest", "table: name required")
    columns = table.get("columns")
    if not isinstance(columns, list) or not columns:
        raise ApiError(400, "InvalidRequest", f"{table['name']}: columns required")
    if len(columns) > MAX_COLUMNS:
        raise ApiError(400, "InvalidRequest", f"{table['name']}: {len(columns)} columns exceed {MAX_COLUMNS}")
    parsed: dict[str, str] = {}
    for column in columns:
        data_type = str(column.get("dataType", "")).lower()
        if data_type not in DATA_TYPES:
            raise ApiError(400, "InvalidRequest", f"{table['name']}.{column.get('name')}: unknown dataType")
        parsed[str(column["name"])] = data_type
    return table["name"], parsed


class FakePowerBI:
    """Start with ``with FakePowerBI(token=...) as server:``; ``server.base_url`` is the API root."""

    def __init__(self, token: str = "test-token", rate_limit: int = 120, rate_window: float = 60.0) -> None:
        self.token = token
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.group_id = str(uuid.UUID(int=1))
        self.datasets: dict[str, FakeDataset] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self._recent: dict[str, deque[float]] = {}
        self._scripted: deque[tuple[int | None, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-powerbi",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{API_PREFIX}"

    def __enter__(self) -> FakePowerBI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    # -- test controls --------------------------------------------------------------------
    def add_dataset(self, definition: dict[str, Any]) -> str:
        dataset = FakeDataset(str(uuid.uuid4()), definition["name"], "basicFIFO", _parse_tables(definition))
        with self._lock:
            self.datasets[dataset.id] = dataset
        return dataset.id

    def fail_next(self, status: int, count: int = 1, retry_after: str | None = None, after: int = 0) -> None:
        """Let ``after`` POST-rows requests through, then answer ``count`` with ``status`` (+ Retry-After)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self._lock:
            self._scripted.extend([(None, {})] * after + [(status, headers)] * count)

    def rows(self, dataset_id: str, table: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.datasets[dataset_id].rows.get(table, []))

    def statuses(self, method: str = "POST", suffix: str = "/rows") -> list[int]:
        with self._lock:
            return [s for m, p, s in self.requests if m == method and p.endswith(suffix)]

    # -- the API ---------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: Any) -> Any:
        if headers.get("Authorization") != f"Bearer {self.token}":
            raise ApiError(401, "TokenExpired", "missing or invalid bearer token")
        if not path.startswith(f"{API_PREFIX}/groups/{self.group_id}/datasets"):
            raise ApiError(404, "ItemNotFound", f"no route {path}")
        parts = [unquote(p) for p in path[len(f"{API_PREFIX}/groups/{self.group_id}/") :].split("/")]
        if parts == ["datasets"] and method == "GET":
            with self._lock:
                return {"value": [{"id": d.id, "name": d.name} for d in self.datasets.values()]}
        if parts == ["datasets"] and method == "POST":
            return self._create(query, body)
        if len(parts) >= 4 and parts[0] == "datasets" and parts[2] == "tables":
            dataset = self.datasets.get(parts[1])
            if dataset is None:
                raise ApiError(404, "ItemNotFound", f"dataset {parts[1]} not found")
            if len(parts) == 4 and method == "PUT":
                return self._put_table(dataset, parts[3], body)
            if len(parts) == 5 and parts[4] == "rows" and method == "POST":
                return self._post_rows(dataset, parts[3], body)
        raise ApiError(404, "ItemNotFound", f"no route {method} {path}")

    def _create(self, query: dict[str, list[str]], body: Any) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            raise ApiError(400, "InvalidRequest", "name: required")
        if body.get("defaultMode") != "Push":
            raise ApiError(400, "InvalidRequest", "defaultMode: only Push is supported here")
        unknown = sorted(set(body) - DATASET_PROPERTIES)
        if unknown:
            raise ApiError(400, "InvalidRequest", f"{unknown[0]}: not a property of a dataset")
        retention = query.get("defaultRetentionPolicy", ["None"])[0]
        dataset = FakeDataset(str(uuid.uuid4()), body["name"], retention, _parse_tables(body))
        with self._lock:
            self.datasets[dataset.id] = dataset
        return {"id": dataset.id, "name": dataset.name, "defaultRetentionPolicy": retention}

    def _put_table(self, dataset: FakeDataset, table: str, body: Any) -> Any:
        name, columns = _parse_table(body)
        if name != table:
            raise ApiError(400, "InvalidRequest", f"table name {name!r} does not match the URL's {table!r}")
        if table not in dataset.tables:
            raise ApiError(404, "ItemNotFound", f"table {table} not found")
        with self._lock:
            dataset.tables[table] = columns
        return {"name": table}

    def _throttle(self, dataset: FakeDataset) -> None:
        now = time.monotonic()
        with self._lock:
            recent = self._recent.setdefault(dataset.id, deque())
            while recent and recent[0] <= now - self.rate_window:
                recent.popleft()
            if len(recent) >= self.rate_limit:
                wait = math.ceil(recent[0] + self.rate_window - now)
                raise ApiError(
                    429, "TooManyRequests", "rate limit exceeded", {"Retry-After": str(max(1, wait))}
                )
            recent.append(now)
            scripted = self._scripted.popleft() if self._scripted else None
        if scripted is not None and scripted[0] is not None:
            status, headers = scripted
            raise ApiError(status, "Scripted", f"scripted failure {status}", headers)

    def _post_rows(self, dataset: FakeDataset, table: str, body: Any) -> Any:
        self._throttle(dataset)
        columns = dataset.tables.get(table)
        if columns is None:
            raise ApiError(404, "ItemNotFound", f"table {table} not found")
        rows = body.get("rows") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise ApiError(400, "InvalidRequest", "rows: required")
        if len(rows) > MAX_ROWS:
            raise ApiError(400, "InvalidRequest", f"{len(rows)} rows exceed {MAX_ROWS} per request")
        for row in rows:
            if not isinstance(row, dict):
                raise ApiError(400, "InvalidRequest", "rows: each row must be an object")
            for column, value in row.items():
                if column not in columns:
                    raise ApiError(400, "InvalidRequest", f"{table}: unknown column {column!r}")
                _check_value(table, column, columns[column], value)
        with self._lock:
            dataset.rows.setdefault(table, []).extend(rows)
        return {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, payload, extra = 200, b"", {}
                try:
                    body = json.loads(raw) if raw else None
                    answer = server.handle(self.command, url.path, parse_qs(url.query), self.headers, body)
                    status = 201 if self.command == "POST" and url.path.endswith("/datasets") else 200
                    payload = json.dumps(answer).encode()
                except ApiError as exc:
                    status, extra = exc.status, exc.headers
                    payload = json.dumps({"error": {"code": exc.code, "message": exc.message}}).encode()
                except json.JSONDecodeError:
                    status = 400
                    payload = json.dumps(
                        {"error": {"code": "InvalidRequest", "message": "body is not JSON"}}
                    ).encode()
                with server._lock:
                    server.requests.append((self.command, url.path, status))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler
