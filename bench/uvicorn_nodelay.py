"""Run uvicorn with N workers on a listener that keeps TCP_NODELAY on accepted sockets.

Why this exists: with ``--workers N>1`` uvicorn binds the listening socket
itself (``Config.bind_socket``) with ``proto=0``; accepted sockets inherit that,
and asyncio's own loop only sets TCP_NODELAY when ``proto == IPPROTO_TCP``
(uvicorn issue #3149). Nagle's algorithm then holds the response body until
the client's delayed ACK, ~40 ms per keep-alive request. (uvloop sets
TCP_NODELAY on every TCP connection, so ``--loop uvloop``, which ``auto``
picks when uvloop is installed, does not have the problem.) Binding the socket
here with ``IPPROTO_TCP`` and handing it to uvicorn's own multiprocess
supervisor is the whole fix for the asyncio loop; the benchmark runs it as
server ``uvicorn-nodelay``.

Usage: python bench/uvicorn_nodelay.py APP --port P [--host H] [--workers N] [--loop L]
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def bind_tcp(host: str, port: int) -> socket.socket:
    """A listening socket whose accepted connections report proto 6 and so get TCP_NODELAY."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    args = parser.parse_args()
    config = uvicorn.Config(
        args.app,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop=args.loop,
        access_log=False,
        log_level="warning",
    )
    sock = bind_tcp(args.host, args.port)
    if args.workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
