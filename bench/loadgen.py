"""A small closed-loop HTTP/1.1 load generator for the benchmarks, used when `wrk` is absent.

`wrk` is a Debian package, not something `make bench` may install; httpx is a full client
whose per-request cost (a few hundred microseconds of Python) would take a large share of the
two cores it is meant to measure. This sends one prepared GET per connection on keep-alive
connections (asyncio protocols on uvloop when installed), reads the status line and the body
by `Content-Length` or chunked framing, and counts: about 15-25 microseconds of CPU per
request. Like `wrk` it is closed-loop (each connection sends its next request when the answer
is in), so it measures throughput at a given concurrency, not latency at a fixed rate.

Its own CPU time is reported (`loadgen_cpu_s`): on a 2-CPU machine it still shares the cores
with the servers it measures, which is why the benchmarks compare ratios measured side by side
in one run, never absolute figures across machines.

    python -m bench.loadgen http://127.0.0.1:8000/path --connections 50 --duration 10 \
        --header "Authorization: Bearer ..."
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run) -> None:
        self.run = run
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.started = 0.0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if time.monotonic() >= self.run.deadline:
            self.transport.close()
            return
        self.started = time.perf_counter()
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            consumed = _response_length(self.buffer)
            if consumed is None:
                return
            status = int(self.buffer[9:12])
            del self.buffer[:consumed]
            self.run.latencies.append(time.perf_counter() - self.started)
            if status >= 400:
                self.run.errors += 1
            self._send()
            if not self.buffer:
                return

    def connection_lost(self, exc: Exception | None) -> None:
        if time.monotonic() < self.run.deadline:
            self.run.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


def _response_length(buffer: bytearray) -> int | None:
    """Bytes of the first complete response in `buffer`, or None while it is incomplete."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).lower()
    body_start = head_end + 4
    marker = head.find(b"\r\ncontent-length:")
    if marker >= 0:
        line_end = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17:line_end if line_end >= 0 else None])
        end = body_start + length
        return end if len(buffer) >= end else None
    if b"\r\ntransfer-encoding: chunked" in head:
        position = body_start
        while True:
            size_end = buffer.find(b"\r\n", position)
            if size_end < 0:
                return None
            size = int(bytes(buffer[position:size_end]).split(b";")[0], 16)
            position = size_end + 2 + size + 2
            if len(buffer) < position:
                return None
            if size == 0:
                return position
    return body_start  # no body (204, 304)


class _Run:
    def __init__(self, request: bytes, deadline: float) -> None:
        self.request = request
        self.deadline = deadline
        self.latencies: list[float] = []
        self.errors = 0


async def load(url: str, *, connections: int, duration: float,
               headers: dict[str, str] | None = None) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}",
             *(f"{k}: {v}" for k, v in (headers or {}).items()), "", ""]
    run = _Run("\r\n".join(lines).encode("latin-1"), time.monotonic() + duration)
    loop = asyncio.get_running_loop()
    cpu_before, started = time.process_time(), time.monotonic()
    protocols = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(lambda: _Connection(run), host, port)
        protocols.append(protocol)
    await asyncio.wait_for(asyncio.gather(*(p.closed for p in protocols)), duration + 30)
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_before
    latencies = sorted(run.latencies)
    if not latencies:
        return {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": float(run.errors),
                "loadgen_cpu_s": cpu}
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": float(run.errors),
        "loadgen_cpu_s": cpu,
        "seconds": elapsed,
    }


def run_load(url: str, *, connections: int, duration: float,
             headers: dict[str, str] | None = None) -> dict[str, float]:
    """`load` on a fresh event loop (uvloop's when installed: it costs less per request)."""
    coroutine = load(url, connections=connections, duration=duration, headers=headers)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    print(json.dumps(run_load(args.url, connections=args.connections, duration=args.duration,
                              headers=headers)))


if __name__ == "__main__":
    main()
