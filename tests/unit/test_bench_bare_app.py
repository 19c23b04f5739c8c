"""The HTTP stack's limit: a bare ASGI app that reads each request whole and answers one fixed body."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from bench import servers
from bench.bare_app import fixed_body_app

BODY = b'{"predictions":[{"failure_probability":0.01}]}'


def drive(messages: list[dict[str, Any]], scope_type: str = "http") -> list[tuple[int, dict[str, Any]]]:
    """Run the app on ``messages``; each message it sends, with how many it had received by then."""
    app = fixed_body_app(BODY)
    pending = list(messages)
    sent: list[tuple[int, dict[str, Any]]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0)

    async def send(message: Any) -> None:
        sent.append((len(messages) - len(pending), dict(message)))

    asyncio.run(app({"type": scope_type}, receive, send))
    return sent


def test_the_whole_request_body_is_read_before_the_fixed_answer() -> None:
    chunks = [
        {"type": "http.request", "body": b'{"rows": [', "more_body": True},
        {"type": "http.request", "body": b"{}]}", "more_body": False},
    ]
    sent = drive(chunks)
    assert [received for received, _ in sent] == [2, 2]
    start, body = sent[0][1], sent[1][1]
    assert start["status"] == 200
    assert dict(start["headers"]) == {
        b"content-type": b"application/json",
        b"content-length": str(len(BODY)).encode(),
    }
    assert body == {"type": "http.response.body", "body": BODY}


def test_lifespan_events_are_answered_complete() -> None:
    sent = drive([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}], scope_type="lifespan")
    assert [message for _, message in sent] == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


def test_under_uvicorn_it_answers_the_file_it_was_given_to_any_post(tmp_path: Path) -> None:
    with servers.bare_app(tmp_path, BODY).start(timeout=60) as server:
        answer = httpx.post(server.base_url + "/api/v1/score", content=b'{"rows": [{}]}', timeout=10)
    assert answer.status_code == 200
    assert answer.content == BODY
    assert answer.headers["content-type"] == "application/json"
