"""The Rego sandbox worker: one process that compiles and evaluates Rego modules for its parent.

Started by :mod:`maestro.policies.rego` as ``python -I rego_worker.py`` with an empty
environment, it imports only the standard library and ``regopy`` (the script's directory
is not on ``sys.path``), then locks itself down before it reads a request: no new file
descriptors (so no file and no socket can be opened), no file writes past a small bound,
no core dumps, and - where the kernel lets it - a network namespace of its own with no
interface. Each request runs under an address-space limit; the parent kills the process
when a request outlives its wall-clock limit.

Protocol, on the worker's standard input and a duplicate of its standard output (the
original is pointed at an in-memory file, because rego-cpp prints its compiler messages
there): a frame is a 4-byte big-endian length and that many bytes. A request is two
frames, a JSON header ``{"op": "check" | "eval", "module": str, "memory_bytes": int,
"query": str}`` and the input document as JSON text (empty for ``check``); the answer is
one frame, JSON ``{"ok": true, "result": str}`` (rego-cpp's output) or ``{"ok": false,
"error": str}``.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import resource
import signal
import struct
import sys
from collections import OrderedDict
from typing import Any, BinaryIO

from regopy import Input, Interpreter, RegoError
from regopy.rego_shared import rego_bundle_query, rego_free_output, rego_output_ok, rego_output_string

MODULE_NAME = "policy.rego"
CAPTURE_LIMIT = 64 * 1024
MAX_FRAME = 64 * 1024 * 1024
CACHE_SIZE = 16
_CLONE_NEWNET = 0x40000000
_PRINTED = re.compile(r"^(?P<message>[^\n-][^\n]*)\n-- (?P<where>[^\n]+:\d+:\d+)$", re.MULTILINE)
_ERROR = re.compile(r"\(error \d+:([^|\n]*)\|(\d+)\|\d+\s*\(errormsg (\d+):")


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = stream.read(n)
    if data is None or len(data) != n:
        raise EOFError
    return data


def _read_frame(stream: BinaryIO) -> bytes:
    (length,) = struct.unpack(">I", _read_exact(stream, 4))
    if length > MAX_FRAME:
        raise EOFError
    return _read_exact(stream, length)


def _write_frame(stream: BinaryIO, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def _line_col(source: bytes, offset: int) -> tuple[int, int]:
    head = source[:offset]
    return head.count(b"\n") + 1, offset - (head.rfind(b"\n") + 1) + 1


def error_messages(text: str, source: bytes) -> list[str]:
    """``file:line:col: message`` for each error in rego-cpp's s-expression error text."""
    messages = []
    for match in _ERROR.finditer(text):
        start = match.end()
        message = text[start : start + int(match.group(3))]
        line, col = _line_col(source, int(match.group(2)))
        name = match.group(1) or MODULE_NAME
        messages.append(f"{name}:{line}:{col}: {message}")
    return messages


class Capture:
    """rego-cpp writes its human-readable compiler messages to fd 1: keep them in memory."""

    def __init__(self) -> None:
        self.fd = os.memfd_create("rego-messages")
        os.dup2(self.fd, 1)

    def reset(self) -> None:
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)

    def text(self) -> str:
        return os.pread(self.fd, CAPTURE_LIMIT, 0).decode("utf-8", "replace").strip()


class Worker:
    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.cache: OrderedDict[str, tuple[Interpreter, Any]] = OrderedDict()
        self.statm = os.open("/proc/self/statm", os.O_RDONLY)
        self.page = os.sysconf("SC_PAGE_SIZE")

    def _fail(self, exc: Exception | None, source: bytes, fallback: str) -> dict[str, Any]:
        printed = self.capture.text()
        messages = error_messages(str(exc), source) if exc is not None else []
        if not messages and printed:
            messages = [f"{m['where']}: {m['message']}" for m in _PRINTED.finditer(printed)] or [printed]
        if not messages:
            messages = [fallback]
        return {"ok": False, "error": "\n".join(messages)}

    def _compiled(self, module: str, query: str) -> tuple[Interpreter, Any] | dict[str, Any]:
        key = hashlib.sha256(f"{query}\0{module}".encode()).hexdigest()
        hit = self.cache.get(key)
        if hit is not None:
            self.cache.move_to_end(key)
            return hit
        source = module.encode()
        interpreter = Interpreter()
        try:
            interpreter.add_module(MODULE_NAME, module)
            bundle = interpreter.build(query, [])
        except RegoError as exc:
            return self._fail(exc, source, "the module does not compile")
        if not bundle.ok():
            return self._fail(None, source, "the module does not compile")
        self.cache[key] = (interpreter, bundle)
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        return interpreter, bundle

    def _limit_memory(self, memory_bytes: int) -> None:
        size_pages = int(os.pread(self.statm, 64, 0).split()[0])
        limit = size_pages * self.page + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))

    def handle(self, header: dict[str, Any], input_json: bytes) -> dict[str, Any]:
        self.capture.reset()
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self._limit_memory(int(header["memory_bytes"]))
        module = str(header["module"])
        compiled = self._compiled(module, str(header["query"]))
        if isinstance(compiled, dict):
            return compiled
        if header["op"] == "check":
            return {"ok": True, "result": ""}
        interpreter, bundle = compiled
        try:
            interpreter.set_input(Input(json.loads(input_json, parse_int=_int64)))
        except Exception as exc:  # ctypes refuses integers past 64 bits, json very deep nesting
            return {"ok": False, "error": f"the input document is not accepted: {type(exc).__name__}: {exc}"}
        impl = rego_bundle_query(interpreter._impl, bundle._impl)
        try:
            ok = rego_output_ok(impl)
            text = rego_output_string(impl)
        finally:
            rego_free_output(impl)
        if not ok or text.startswith(("(error", "<error>")):
            return self._fail(RuntimeError(text), module.encode(), "the evaluation failed")
        return {"ok": True, "result": text}


def _int64(text: str) -> int:
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"the integer {text[:40]} is outside the 64-bit range Rego holds")
    return value


def _lock_down() -> None:
    """Leave the worker able to use only the descriptors it has now."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.unshare(_CLONE_NEWNET)  # best effort: needs CAP_SYS_ADMIN
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (CAPTURE_LIMIT * 4, CAPTURE_LIMIT * 4))
    listed = [int(name) for name in os.listdir("/proc/self/fd")]
    open_fds = [fd for fd in listed if _is_open(fd)]
    limit = max(open_fds) + 1
    devnull = os.open(os.devnull, os.O_RDONLY)
    for fd in range(limit):
        if fd not in open_fds and fd != devnull:
            os.dup2(devnull, fd)  # fill every hole: no free descriptor below the limit
    if devnull >= limit:
        os.close(devnull)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def main() -> None:
    requests = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 2)
    worker = Worker(Capture())
    _lock_down()
    _write_frame(answers, {"ok": True, "result": "ready"})
    while True:
        try:
            header = json.loads(_read_frame(requests))
            input_json = _read_frame(requests)
        except (EOFError, ValueError, struct.error):
            return
        try:
            answer = worker.handle(header, input_json)
        except MemoryError:
            _write_frame(answers, {"ok": False, "error": "memory", "fatal": True})
            return
        except Exception as exc:
            answer = {"ok": False, "error": f"the evaluator failed: {type(exc).__name__}: {exc}"}
        _write_frame(answers, answer)


if __name__ == "__main__":
    main()
    sys.exit(0)
