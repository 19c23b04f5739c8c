"""A steady request rate (wrk only saturates): POST bodies at a fixed rate, in a process of its own.

``python -m bench.paced --url URL --bodies FILE --rate 200 --seconds 20 [--api-key K]``
sends request ``i`` at ``start + i / rate``, whatever the answers' latency, and
prints ``{"accepted", "failed", "seconds", "p50_ms", "p99_ms"}``. A minimal
HTTP/1.1 client on asyncio streams over a few keep-alive connections: a
general-purpose async client costs more CPU per request than the server under
test and could not hold the rate on a busy two-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import orjson

CONNECTIONS = 16


class HttpConnection:
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, head: bytes, body: bytes) -> int:
        """Send one request, read the whole answer; its status code."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        self._writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        await self._writer.drain()
        header = await self._reader.readuntil(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = 0
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self._reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()


async def send_paced(
    url: str, headers: dict[str, str], bodies: list[bytes], rate: float, seconds: float
) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head = f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}Content-Length: ".encode()
    jobs: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    latencies: list[float] = []
    failed = 0

    async def worker() -> None:
        nonlocal failed
        connection = HttpConnection(host, port)
        try:
            while (job := await jobs.get()) is not None:
                due, body = job
                try:
                    status = await connection.post(head, body)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    failed += 1
                    connection = HttpConnection(host, port)
                    continue
                if status == 200:
                    latencies.append(time.monotonic() - due)
                else:
                    failed += 1
        finally:
            await connection.close()

    workers = [asyncio.create_task(worker()) for _ in range(CONNECTIONS)]
    start = time.monotonic()
    for index in range(int(rate * seconds)):
        due = start + index / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        jobs.put_nowait((due, bodies[index % len(bodies)]))
    sent_for = time.monotonic() - start
    for _ in workers:
        jobs.put_nowait(None)
    await asyncio.gather(*workers)
    latencies.sort()
    return {
        "accepted": len(latencies),
        "failed": failed,
        "seconds": sent_for,
        # From each request's due time: queueing behind a slow answer counts (no coordinated omission).
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.paced", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--bodies", type=Path, required=True, help="one JSON body per line")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--api-key")
    args = parser.parse_args(argv)
    bodies = [line for line in args.bodies.read_bytes().splitlines() if line]
    headers = {"Content-Type": "application/json"}
    if args.api_key:
        headers["X-API-Key"] = args.api_key
    result = asyncio.run(send_paced(args.url, headers, bodies, args.rate, args.seconds))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
