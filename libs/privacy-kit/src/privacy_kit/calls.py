"""One pooled HTTP client per event loop for a service's calls to the other stores.

A new `httpx.AsyncClient` per call builds a TLS context and a connection pool each time:
milliseconds of CPU per call, which under a burst of requests (1,000 erasure jobs posted at
once) is most of what a service does. Calls between services take this client and pass their
own timeout and service token per request.
"""

from __future__ import annotations

import asyncio

import httpx

_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}


def service_client() -> httpx.AsyncClient:
    """The running loop's shared client (made on first use; a closed one is replaced). It
    lives as long as the process: services share it, so no one service's shutdown closes it."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        for other in [lp for lp in _clients if lp.is_closed()]:
            del _clients[other]  # loops of finished test sessions
        client = httpx.AsyncClient(
            timeout=5.0, limits=httpx.Limits(max_connections=50, max_keepalive_connections=20))
        _clients[loop] = client
    return client

