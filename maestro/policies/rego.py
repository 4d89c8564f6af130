"""Rego policies: compile-check and evaluate a tenant's module in a sandboxed worker process.

A module follows the convention in ``docs/policies.md`` ("Rego policies"): ``package
maestro.policy``, a ``violations`` rule and an optional ``warnings`` rule, each a set or
array of ``{"rule": str, "message": str}`` objects.

Evaluation never happens in the calling process. A small pool of reused worker processes
(``rego_worker.py``, started with an empty environment, no new file descriptors, an
address-space limit per request) runs rego-cpp through ``regopy``; a worker that
outlives ``timeout_s`` is killed and replaced, one that runs out of memory dies alone.
Built-ins that reach the network, the host environment or a source of nondeterminism are
refused before a module reaches a worker and are replaced by inert values at evaluation
as a second line. Neither function raises for a hostile module: it answers with an error.

This module does no database and no HTTP (an import-linter contract says so).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import math
import os
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PACKAGE = "maestro.policy"
REQUIRED_RULE = "violations"
OPTIONAL_RULE = "warnings"
MAX_MODULE_BYTES = 256 * 1024
MAX_INPUT_BYTES = 4 * 1024 * 1024
MAX_OUTPUT_BYTES = 1024 * 1024
MAX_FINDINGS = 1000
MAX_FIELD_CHARS = 2000
POOL_SIZE = 2
COMPILE_TIMEOUT_S = 5.0
COMPILE_MEMORY_BYTES = 256 * 1024 * 1024
_START_TIMEOUT_S = 30.0
_WORKER = Path(__file__).with_name("rego_worker.py")

# Built-ins a policy may not call, by the reason given to its author. OPA's own file and
# environment access is `opa.runtime` (config and environment variables); OPA has no
# file-reading built-in and Maestro loads no `data` documents. rego-cpp lacks `http.send`
# and `net.lookup_ip_addr`, but a module naming them is refused all the same, so that it
# behaves the same under OPA. Time, randomness and UUIDs would make a verdict depend on
# more than its input: the evaluation time is in the input.
DENIED_PREFIXES: Mapping[str, str] = {
    "http.": "network access",
    "net.": "network access",
    "opa.": "access to the host's configuration and environment",
}
DENIED_BUILTINS: Mapping[str, str] = {
    "http.send": "network access",
    "net.lookup_ip_addr": "network access",
    "opa.runtime": "access to the host's configuration and environment",
    "time.now_ns": "a nondeterministic result (use input.evaluated_at)",
    "rand.intn": "a nondeterministic result",
    "uuid.rfc4122": "a nondeterministic result",
}
# Replacements that the worker's query applies, so a call that escapes the static check
# still reads nothing (rego-cpp's `opa.runtime` returns the process environment).
_INERT: Mapping[str, str] = {
    "opa.runtime": "{}",
    "time.now_ns": "0",
    "rand.intn": "0",
    "uuid.rfc4122": '""',
}
QUERY = (
    f'x := {{"v": [y | y := data.{PACKAGE}.{REQUIRED_RULE}], "w": [y | y := data.{PACKAGE}.{OPTIONAL_RULE}]}}'
    + "".join(f" with {name} as {value}" for name, value in _INERT.items())
)


@dataclass(frozen=True, order=True)
class Finding:
    """One violation or warning a module returned."""

    rule: str
    message: str


@dataclass(frozen=True)
class RegoOutcome:
    """What one evaluation gave: sorted, deduplicated findings, or why there are none."""

    violations: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    error: str | None = None


def _failed(error: str) -> RegoOutcome:
    return RegoOutcome(error=error)


# --- static checks -------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<comment>\#[^\n]*)
      | (?P<string>"(?:[^"\\\n]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<newline>\n)
      | (?P<space>[ \t\r]+)
      | (?P<other>.)""",
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int
    starts_line: bool


def _tokens(module: str) -> list[_Token]:
    tokens: list[_Token] = []
    line, at_start = 1, True
    for match in _TOKEN.finditer(module):
        kind = match.lastgroup or "other"
        text = match.group()
        if kind == "newline":
            line, at_start = line + 1, True
            continue
        if kind in ("space", "comment"):
            continue
        tokens.append(_Token(kind, text, line, at_start))
        line += text.count("\n")
        at_start = False
    return tokens


def _string_value(token: _Token) -> str | None:
    if token.kind == "raw":
        return token.text[1:-1]
    if token.kind == "string":
        try:
            value = json.loads(token.text)
        except ValueError:
            return None
        return value if isinstance(value, str) else None
    return None


def _refs(tokens: list[_Token]) -> Iterator[tuple[str, int]]:
    """Every reference in the module as a dotted name (``a["b"].c`` reads ``a.b.c``)."""
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind != "ident" or (i > 0 and tokens[i - 1].text == "."):
            i += 1
            continue
        parts = [token.text]
        j = i + 1
        while j < len(tokens):
            if tokens[j].text == "." and j + 1 < len(tokens) and tokens[j + 1].kind == "ident":
                parts.append(tokens[j + 1].text)
                j += 2
            elif tokens[j].text == "[" and j + 2 < len(tokens) and tokens[j + 2].text == "]":
                key = _string_value(tokens[j + 1])
                if key is None:
                    break
                parts.append(key)
                j += 3
            else:
                break
        yield ".".join(parts), token.line
        i = j


def _denied(name: str) -> str | None:
    for builtin, reason in DENIED_BUILTINS.items():
        if name == builtin or name.startswith(builtin + "."):
            return f"{builtin} is not allowed: it gives {reason}"
    for prefix, reason in DENIED_PREFIXES.items():
        if name.startswith(prefix):
            return f"{name} is not allowed: the {prefix}* built-ins give {reason}"
    return None


def static_error(module: str) -> str | None:
    """Why ``module`` is refused before it reaches rego-cpp, or None.

    Checks its size, its package, that it defines ``violations``, and that it names no
    denied built-in (comments and strings are skipped; ``a["b"]`` counts as ``a.b``).
    """
    if not isinstance(module, str):
        return "the module must be a string"
    if len(module.encode("utf-8", "surrogatepass")) > MAX_MODULE_BYTES:
        return f"the module is larger than {MAX_MODULE_BYTES} bytes"
    return _static_error(module)


@functools.lru_cache(maxsize=64)
def _static_error(module: str) -> str | None:
    """The checks that read the module, remembered: a gate evaluates the same few modules."""
    if "\0" in module:
        return "the module contains a NUL character"
    tokens = _tokens(module)
    refs = list(_refs(tokens))
    if not tokens or tokens[0].text != "package" or len(refs) < 2:
        return f"the module must begin with `package {PACKAGE}`"
    if refs[1][0] != PACKAGE:
        return f"the module's package is {refs[1][0]}; a Maestro policy is `package {PACKAGE}`"
    for name, line in refs:
        reason = _denied(name)
        if reason is not None:
            return f"policy.rego:{line}: {reason}"
    heads = {
        tokens[i + 1].text if tokens[i].text == "default" and i + 1 < len(tokens) else tokens[i].text
        for i in range(len(tokens))
        if tokens[i].starts_line
    }
    if REQUIRED_RULE not in heads:
        return f"the module defines no `{REQUIRED_RULE}` rule (see docs/policies.md)"
    return None


# --- output ----------------------------------------------------------------------------


def _findings(value: Any, rule_name: str) -> tuple[tuple[Finding, ...], str | None]:
    if not isinstance(value, list):
        return (), f"{rule_name} must be a set or an array of objects, not {_kind(value)}"
    if len(value) > MAX_FINDINGS:
        return (), f"{rule_name} has {len(value)} entries; at most {MAX_FINDINGS} are allowed"
    found: set[Finding] = set()
    for index, item in enumerate(value):
        where = f"{rule_name}[{index}]"
        if not isinstance(item, dict):
            return (), f'{where} must be an object with "rule" and "message", not {_kind(item)}'
        for field in ("rule", "message"):
            if field not in item:
                return (), f'{where} has no "{field}"'
            if not isinstance(item[field], str):
                return (), f"{where}.{field} must be a string, not {_kind(item[field])}"
            if len(item[field]) > MAX_FIELD_CHARS:
                return (), f"{where}.{field} is longer than {MAX_FIELD_CHARS} characters"
        if not item["rule"]:
            return (), f"{where}.rule is empty"
        found.add(Finding(rule=item["rule"], message=item["message"]))
    return tuple(sorted(found)), None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _outcome(result: str) -> RegoOutcome:
    if result == "undefined":
        return _failed(f"data.{PACKAGE}.{REQUIRED_RULE} is undefined")
    try:
        document = json.loads(result)
        x = document["bindings"]["x"]
        defined_v, defined_w = x["v"], x["w"]
    except (ValueError, KeyError, TypeError):
        return _failed("the evaluator's output could not be read")
    if not defined_v:
        return _failed(f"data.{PACKAGE}.{REQUIRED_RULE} is undefined")
    violations, error = _findings(defined_v[0], REQUIRED_RULE)
    if error is not None:
        return _failed(error)
    warnings: tuple[Finding, ...] = ()
    if defined_w:
        warnings, error = _findings(defined_w[0], OPTIONAL_RULE)
        if error is not None:
            return _failed(error)
    return RegoOutcome(violations=violations, warnings=warnings)


# --- the worker pool ---------------------------------------------------------------------


class _WorkerGone(Exception):
    pass


class _Timeout(Exception):
    pass


class _Busy(Exception):
    """Every worker stayed busy for as long as the caller could wait."""


class _Stale(Exception):
    """The worker was dead before it got the request: another worker may take it."""


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            close_fds=True,
            cwd="/",
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.stdin: IO[bytes] = self.process.stdin
        self.stdout: IO[bytes] = self.process.stdout
        self.ready = False

    def _read_exact(self, n: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        fd = self.stdout.fileno()
        poller = select.poll()  # not select(): a busy server's descriptors pass 1024
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while n > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not poller.poll(max(1, math.ceil(remaining * 1000))):
                raise _Timeout
            chunk = os.read(fd, min(n, 1 << 20))
            if not chunk:
                raise _WorkerGone
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def read_answer(self, deadline: float) -> dict[str, Any]:
        (length,) = struct.unpack(">I", self._read_exact(4, deadline))
        if length > MAX_OUTPUT_BYTES:
            raise _WorkerGone("output")
        answer = json.loads(self._read_exact(length, deadline))
        if not isinstance(answer, dict):
            raise _WorkerGone
        return answer

    def request(self, header: dict[str, Any], input_json: bytes, timeout_s: float) -> dict[str, Any]:
        if not self.ready:
            self.read_answer(time.monotonic() + _START_TIMEOUT_S)
            self.ready = True
        if self.process.poll() is not None:
            raise _Stale
        head = json.dumps(header).encode()
        try:
            self.stdin.write(
                struct.pack(">I", len(head)) + head + struct.pack(">I", len(input_json)) + input_json
            )
            self.stdin.flush()
        except OSError as exc:  # the worker died while idle: the request never reached it
            raise _Stale from exc
        return self.read_answer(time.monotonic() + timeout_s)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.pid = os.getpid()
        self.idle: list[_Worker] = []
        self.live = 0
        self.lock = threading.Condition()

    def acquire(self, wait_s: float) -> _Worker:
        deadline = time.monotonic() + wait_s
        with self.lock:
            while True:
                while not self.idle and self.live >= self.size:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _Busy
                    self.lock.wait(remaining)
                if not self.idle:
                    break
                worker = self.idle.pop()
                if worker.process.poll() is None:
                    return worker
                self.live -= 1  # died while idle: drop it, start another
                worker.kill()
            self.live += 1
        try:
            return _Worker()
        except BaseException:
            with self.lock:
                self.live -= 1
                self.lock.notify()
            raise

    def release(self, worker: _Worker, healthy: bool) -> None:
        if not healthy:
            worker.kill()
        with self.lock:
            if healthy:
                self.idle.append(worker)
            else:
                self.live -= 1
            self.lock.notify()

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
            self.live -= len(idle)
        for worker in idle:
            worker.kill()


_pool_lock = threading.Lock()
_pool: _Pool | None = None


def _current_pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():
            _pool = _Pool(POOL_SIZE)  # a forked child starts its own workers
        return _pool


def warm_up() -> None:
    """Start the pool's workers now, so that the first evaluations do not pay for it."""
    pool = _current_pool()
    workers = [pool.acquire(_START_TIMEOUT_S) for _ in range(pool.size)]
    for worker in workers:
        healthy = True
        try:
            if not worker.ready:
                worker.read_answer(time.monotonic() + _START_TIMEOUT_S)
                worker.ready = True
        except (_WorkerGone, _Timeout, ValueError, struct.error):
            healthy = False
        pool.release(worker, healthy)


@atexit.register
def shutdown() -> None:
    """Stop the idle workers (busy ones stop when their evaluation returns)."""
    with _pool_lock:
        pool = _pool
    if pool is not None and pool.pid == os.getpid():
        pool.close()


def _run(op: str, module: str, input_json: bytes, timeout_s: float, memory_bytes: int) -> dict[str, Any]:
    for _attempt in range(2):
        answer = _run_once(op, module, input_json, timeout_s, memory_bytes)
        if answer is not None:
            return answer
    return {"ok": False, "error": "the Rego sandbox's workers keep stopping before they answer"}


def _run_once(
    op: str, module: str, input_json: bytes, timeout_s: float, memory_bytes: int
) -> dict[str, Any] | None:
    pool = _current_pool()
    try:
        worker = pool.acquire(timeout_s)
    except _Busy:
        return {"ok": False, "error": f"every Rego worker stayed busy for {timeout_s:g} s; try again"}
    except OSError as exc:
        return {"ok": False, "error": f"the Rego sandbox could not start: {exc}"}
    header = {"op": op, "module": module, "memory_bytes": memory_bytes, "query": QUERY}
    healthy = False
    try:
        answer = worker.request(header, input_json, timeout_s)
        healthy = not answer.get("fatal")
        if answer.get("fatal"):
            return {"ok": False, "error": _memory_error(memory_bytes)}
        return answer
    except _Stale:
        return None
    except _Timeout:
        what = "compiling the module" if op == "check" else "the Rego evaluation"
        return {"ok": False, "error": f"{what} exceeded its {timeout_s:g} s time limit and was stopped"}
    except (_WorkerGone, ValueError, struct.error):
        worker.kill()
        return {"ok": False, "error": _crash_error(worker.process.returncode, memory_bytes)}
    finally:
        pool.release(worker, healthy)


def _memory_error(memory_bytes: int) -> str:
    return f"the Rego evaluation was stopped: it needed more than its memory limit of {memory_bytes} bytes"


def _crash_error(returncode: int | None, memory_bytes: int) -> str:
    if returncode == -signal.SIGABRT:
        return _memory_error(memory_bytes)
    if returncode == -signal.SIGSEGV:
        return "the Rego evaluation crashed the evaluator (runaway recursion?) and was stopped"
    if returncode == -signal.SIGKILL:
        return f"the Rego evaluation produced more than {MAX_OUTPUT_BYTES} bytes of output and was stopped"
    return f"the Rego evaluator stopped unexpectedly (exit status {returncode}) and was replaced"


def _check_limits(timeout_s: float, memory_bytes: int) -> str | None:
    if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and timeout_s > 0):
        return "timeout_s must be a positive number of seconds"
    if not (isinstance(memory_bytes, int) and memory_bytes >= 16 * 1024 * 1024):
        return "memory_bytes must be an integer of at least 16 MiB"
    return None


# --- the public API ----------------------------------------------------------------------


def compile_error(module: str) -> str | None:
    """None when ``module`` compiles and follows the convention, otherwise why not.

    The message is the compiler's (``policy.rego:LINE:COL: ...``) or names the convention
    the module breaks or the built-in it may not call; an upload answers it with 422.
    """
    error = static_error(module)
    if error is not None:
        return error
    answer = _run("check", module, b"", COMPILE_TIMEOUT_S, COMPILE_MEMORY_BYTES)
    if not answer.get("ok"):
        return str(answer.get("error") or "the module does not compile")
    return None


def evaluate(
    module: str,
    input: Mapping[str, Any],  # noqa: A002 (the name Rego gives the document)
    *,
    timeout_s: float,
    memory_bytes: int,
) -> RegoOutcome:
    """Evaluate ``module`` over ``input`` in a sandboxed worker.

    ``timeout_s`` bounds the wall-clock time of the evaluation (the worker is killed past
    it); ``memory_bytes`` bounds what the worker may allocate on top of what it holds. The
    findings are sorted by (rule, message) and deduplicated. Never raises for a hostile
    module or input: the outcome's ``error`` says what went wrong.
    """
    error = _check_limits(timeout_s, memory_bytes) or static_error(module)
    if error is not None:
        return _failed(error)
    try:
        input_json = json.dumps(input, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        return _failed(f"the input document is not JSON: {exc}")
    if not isinstance(input, Mapping):
        return _failed("the input document must be an object")
    if len(input_json) > MAX_INPUT_BYTES:
        return _failed(f"the input document is larger than {MAX_INPUT_BYTES} bytes")
    answer = _run("eval", module, input_json, timeout_s, memory_bytes)
    if not answer.get("ok"):
        return _failed(str(answer.get("error") or "the evaluation failed"))
    return _outcome(str(answer.get("result", "")))
