"""CPU per request of the HTTP protocol alone: uvicorn's httptools protocol and
Maestro's (``maestro.serving.HttpProtocol``) driven in-process on uvloop with a
trivial ASGI app and an in-memory transport, keep-alive, in alternating batches.

Wall-clock figures on a shared two-core machine swing by tens of percent; this
isolates what the limits add per request (a few timer and counter updates) and
``bench/limits.py`` sets it against what a whole Maestro request costs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from maestro.serving import HttpProtocol

GET = b"GET /maestro/runs/01a2 HTTP/1.1\r\nHost: 127.0.0.1:8001\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
BODY = b'{"name": "bench", "owner": "bench-writer", "cost_estimate": 1.5}'
POST = (
    b"POST /maestro/runs HTTP/1.1\r\nHost: 127.0.0.1:8001\r\nContent-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["method"] == "POST":
        await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})


class Transport(asyncio.Transport):
    """Keeps nothing: the response bytes are counted and dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += len(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass


async def _batch(cls: type[HttpToolsProtocol], request: bytes, count: int) -> float:
    config = Config(app=app, http=cls, lifespan="off", log_level="warning")
    config.load()
    state = ServerState()
    protocol = cls(config=config, server_state=state, app_state={}, _loop=asyncio.get_running_loop())
    protocol.connection_made(Transport())
    started = time.process_time()
    for _ in range(count):
        protocol.data_received(request)
        while state.tasks:
            await asyncio.sleep(0)
    used = time.process_time() - started
    protocol.connection_lost(None)
    return used / count * 1e6


def measure(batches: int = 15, count: int = 5000) -> dict[str, dict[str, float]]:
    """Median microseconds per request, per protocol and request kind."""
    figures: dict[str, dict[str, list[float]]] = {}
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        for _ in range(batches):
            for name, cls in (("plain", HttpToolsProtocol), ("limits", HttpProtocol)):
                for kind, request in (("get", GET), ("post", POST)):
                    us = runner.run(_batch(cls, request, count))
                    figures.setdefault(kind, {}).setdefault(name, []).append(us)
    return {kind: {name: statistics.median(v) for name, v in per.items()} for kind, per in figures.items()}


if __name__ == "__main__":
    for kind, per in measure().items():
        print(f"{kind}: plain {per['plain']:.2f} us, limits {per['limits']:.2f} us per request")
