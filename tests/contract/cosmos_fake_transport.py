"""An in-memory Cosmos DB account behind azure-core's transport seam.

This fake exists because no Cosmos DB emulator can run here (no Docker, nothing
to install): the real ``azure-cosmos`` SDK is handed ``CosmosClient(...,
transport=FakeCosmosTransport())`` and everything above the HTTP layer is the
real SDK (headers, retry policies, batch formatting, error mapping). The fake
answers the requests the SDK actually sends — the account read, the container
metadata read, point reads, upserts, queries, transactional batches — from
partitioned in-memory documents, records every request for assertions, and
can be told to answer the next matching requests with a status (429 with
``x-ms-retry-after-ms``, 409, 412, ...).

Queries: the small SQL subset the adapter uses (``SELECT *`` / ``SELECT VALUE
c.f``, ``AND``-ed comparisons with parameters, ``ARRAY_CONTAINS(@p, c.f)``,
``ORDER BY c.f``, ``OFFSET 0 LIMIT @n``); anything else answers 400 so a query
the fake does not understand fails the test instead of passing silently.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from azure.core.pipeline.transport import HttpRequest, HttpResponse, HttpTransport
from azure.core.utils import case_insensitive_dict

ENDPOINT = "https://fake-account.documents.azure.com:443/"
FAKE_KEY = "ZmFrZS1rZXktZm9yLXRoZS1mYWtlLXRyYW5zcG9ydA=="  # not a secret: the fake ignores auth


class _Response(HttpResponse):
    def __init__(self, request: HttpRequest, status: int, body: Any, headers: dict[str, str]) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.headers = case_insensitive_dict({"Content-Type": "application/json", **headers})
        self.reason = str(status)
        self.content_type = "application/json"
        self._body = b"" if body is None else json.dumps(body).encode()

    def body(self) -> bytes:
        return self._body


@dataclass
class SentRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def partition_key(self) -> list[Any] | None:
        raw = self.headers.get("x-ms-documentdb-partitionkey")
        return json.loads(raw) if raw else None

    @property
    def is_query(self) -> bool:
        return self.headers.get("x-ms-documentdb-isquery", "").lower() == "true"

    @property
    def is_batch(self) -> bool:
        return self.headers.get("x-ms-cosmos-is-batch-request", "").lower() == "true"

    @property
    def is_upsert(self) -> bool:
        return self.headers.get("x-ms-documentdb-is-upsert", "").lower() == "true"


@dataclass
class _Fault:
    matches: Callable[[SentRequest], bool]
    status: int
    headers: dict[str, str]
    remaining: int


class QueryNotSupported(ValueError):
    pass


_COND = re.compile(r"^c\.(\w+) (=|<|<=|>|>=) (@\w+|true|false)$")
_CONTAINS = re.compile(r"^ARRAY_CONTAINS\((@\w+), c\.(\w+)\)$")
_QUERY = re.compile(
    r"^SELECT (?P<select>\*|VALUE c\.\w+) FROM c"
    r"(?: WHERE (?P<where>.+?))?"
    r"(?: ORDER BY c\.(?P<order>\w+) (?P<dir>ASC|DESC))?"
    r"(?: OFFSET 0 LIMIT (?P<limit>@\w+))?$"
)


def run_query(docs: list[dict[str, Any]], query: str, params: dict[str, Any]) -> list[Any]:
    found = _QUERY.match(query)
    if found is None:
        raise QueryNotSupported(query)
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for part in (found["where"] or "").split(" AND ") if found["where"] else []:
        tests.append(_condition(part, params))
    rows = [doc for doc in docs if all(test(doc) for test in tests)]
    if found["order"]:
        name = found["order"]
        rows.sort(key=lambda doc: doc.get(name, ""), reverse=found["dir"] == "DESC")
    if found["limit"]:
        rows = rows[: params[found["limit"]]]
    if found["select"] == "*":
        return rows
    name = found["select"].removeprefix("VALUE c.")
    return [doc[name] for doc in rows if name in doc]


def _condition(text: str, params: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    contains = _CONTAINS.match(text)
    if contains:
        values, name = params[contains[1]], contains[2]
        return lambda doc: doc.get(name) in values
    cond = _COND.match(text)
    if cond is None:
        raise QueryNotSupported(text)
    name, op, raw = cond[1], cond[2], cond[3]
    value = {"true": True, "false": False}.get(raw, params.get(raw))
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }

    def test(doc: dict[str, Any]) -> bool:
        # Cosmos semantics: a comparison with a missing or differently typed property is undefined (false).
        if name not in doc or type(doc[name]) is not type(value):
            return False
        return compare[op](doc[name], value)

    return test


@dataclass
class FakeCosmosTransport(HttpTransport):  # type: ignore[type-arg]
    database: str = "edgeloop"
    container: str = "insights"
    partition_path: str = "/site_id"
    documents: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[SentRequest] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    before_request: Callable[[SentRequest], None] | None = None
    _etags: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- test controls ---------------------------------------------------------

    def fail_next(
        self,
        matches: Callable[[SentRequest], bool],
        status: int,
        *,
        count: int = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.faults.append(_Fault(matches, status, headers or {}, count))

    def document_requests(self) -> list[SentRequest]:
        return [r for r in self.requests if "/docs" in r.path]

    def docs_in(self, partition: str) -> list[dict[str, Any]]:
        return [doc for (pk, _), doc in self.documents.items() if pk == partition]

    # -- HttpTransport ---------------------------------------------------------

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        pass

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        body = request.body
        if isinstance(body, bytes | bytearray):
            body = body.decode()
        sent = SentRequest(
            method=request.method,
            path=unquote(urlparse(request.url).path).strip("/"),
            headers={k.lower(): str(v) for k, v in request.headers.items()},
            body=json.loads(body) if body else None,
        )
        with self._lock:
            self.requests.append(sent)
            if self.before_request is not None:
                self.before_request(sent)
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(sent):
                    fault.remaining -= 1
                    error = {"code": str(fault.status), "message": f"injected {fault.status}"}
                    return _Response(request, fault.status, error, fault.headers)
            status, payload, headers = self._answer(sent)
        return _Response(request, status, payload, headers)

    # -- the service -------------------------------------------------------------

    def _answer(self, req: SentRequest) -> tuple[int, Any, dict[str, str]]:
        coll = f"dbs/{self.database}/colls/{self.container}"
        if req.path == "" and req.method == "GET":
            location = {"name": "Fake", "databaseAccountEndpoint": ENDPOINT}
            account = {
                "id": "fake-account",
                "writableLocations": [location],
                "readableLocations": [location],
                "enableMultipleWriteLocations": False,
                "userConsistencyPolicy": {"defaultConsistencyLevel": "Session"},
            }
            return 200, account, {}
        if req.path == coll and req.method == "GET":
            partition_key = {"paths": [self.partition_path], "kind": "Hash", "version": 2}
            return 200, {"id": self.container, "_rid": "fakeRid==", "partitionKey": partition_key}, {}
        if req.path == f"{coll}/pkranges":
            ranges = [{"id": "0", "minInclusive": "", "maxExclusive": "FF"}]
            return 200, {"_rid": "fakeRid==", "PartitionKeyRanges": ranges, "_count": 1}, {"etag": '"1"'}
        if req.path == f"{coll}/docs" and req.method == "POST":
            if req.is_query:
                return self._query(req)
            if req.is_batch:
                return self._batch(req)
            return self._write(req.partition_key, req.body, "Upsert" if req.is_upsert else "Create", None)
        if req.path.startswith(f"{coll}/docs/"):
            doc_id = req.path.removeprefix(f"{coll}/docs/")
            key = (self._pk(req.partition_key), doc_id)
            if req.method == "GET":
                doc = self.documents.get(key)
                return (200, doc, {"etag": doc["_etag"]}) if doc else (404, {"code": "NotFound"}, {})
            if req.method == "PUT":
                return self._write(req.partition_key, req.body, "Replace", req.headers.get("if-match"))
        return 400, {"code": "BadRequest", "message": f"fake: unsupported {req.method} {req.path}"}, {}

    def _pk(self, header: list[Any] | None) -> str:
        if not header:
            raise ValueError("request without a partition key")
        return str(header[0])

    def _query(self, req: SentRequest) -> tuple[int, Any, dict[str, str]]:
        params = {p["name"]: p["value"] for p in req.body.get("parameters", [])}
        if req.partition_key is not None:
            docs = self.docs_in(self._pk(req.partition_key))
        elif req.headers.get("x-ms-documentdb-query-enablecrosspartition", "").lower() == "true":
            docs = list(self.documents.values())
        else:
            return 400, {"code": "BadRequest", "message": "cross-partition query not enabled"}, {}
        try:
            rows = run_query(docs, req.body["query"], params)
        except QueryNotSupported as exc:
            return 400, {"code": "BadRequest", "message": f"fake: unsupported query {exc}"}, {}
        return 200, {"_rid": "fakeRid==", "Documents": copy.deepcopy(rows), "_count": len(rows)}, {}

    def _write(
        self,
        pk: list[Any] | None,
        body: dict[str, Any],
        op: str,
        if_match: str | None,
        staged: dict[tuple[str, str], dict[str, Any]] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        store = self.documents if staged is None else staged
        partition = self._pk(pk)
        if str(body.get(self.partition_path.strip("/"))) != partition:
            return 400, {"code": "BadRequest", "message": "partition key mismatch"}, {}
        key = (partition, str(body["id"]))
        current = store.get(key)
        if op == "Create" and current is not None:
            return 409, {"code": "Conflict"}, {}
        if op == "Replace" and current is None:
            return 404, {"code": "NotFound"}, {}
        if if_match is not None and (current is None or current["_etag"] != if_match):
            return 412, {"code": "PreconditionFailed"}, {}
        doc = {**copy.deepcopy(body), "_etag": f'"{next(self._etags)}"', "_rid": "r", "_ts": 0}
        store[key] = doc
        return (201 if current is None else 200), doc, {"etag": doc["_etag"]}

    def _batch(self, req: SentRequest) -> tuple[int, Any, dict[str, str]]:
        staged = copy.deepcopy(self.documents)  # atomic: applied only if every operation succeeds
        results: list[dict[str, Any]] = []
        for index, op in enumerate(req.body):
            kind = op["operationType"]
            if kind not in ("Create", "Upsert", "Replace"):
                return 400, {"code": "BadRequest", "message": f"fake: batch {kind}"}, {}
            status, doc, _ = self._write(
                req.partition_key, op["resourceBody"], kind, op.get("ifMatch"), staged
            )
            if status >= 400:
                # The service answers 207: the failing operation's status, 424 for every other one.
                failed = [{"statusCode": 424} for _ in req.body]
                failed[index] = {"statusCode": status}
                return 207, failed, {}
            results.append({"statusCode": status, "requestCharge": 1.0, "eTag": doc["_etag"]})
        self.documents = staged
        return 200, results, {}
