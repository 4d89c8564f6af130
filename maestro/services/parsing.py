"""Parsing an upload in a worker process: a memory budget, a time limit, a few at a time.

Measured in-process, parse memory had no useful bound: a 3.7 MB zip under the
ratio limit cost +366 MiB, eight in parallel +2.1 GB, a 54 MB JUnit file
+982 MiB, and CPython rarely gives such peaks back to the OS. So each parse
runs in a short-lived worker process forked from a ``forkserver`` that has the
parsers preloaded:

- the worker reads the spooled file itself; the server never holds the bytes;
- the server polls the worker's resident memory every 10 ms and kills it once it
  grows ``max_memory`` past its start (parsers never see a failed allocation,
  which some C code - orjson - turns into a crash or a "not valid JSON");
  a hard ``RLIMIT_DATA`` of 4 x ``max_memory`` + 256 MiB of address space is the
  backstop for a burst between two polls;
- it is killed after ``timeout`` seconds;
- its answer (the pickled ``ParsedEvidence``) is capped at ``max_memory // 4``
  bytes, so what the server itself builds from it stays within about the same
  budget again;
- at most ``concurrency`` workers run at once; an upload waits at most
  ``queue_timeout`` seconds for one, then gets 503 ``overloaded``.

Content the budget cannot parse is stored and served like content over
``max_bytes``: its evidence is ``unparsed`` with the reason. Memory a parse
used goes back to the OS when its worker exits.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import resource
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import orjson

from maestro.config import Settings
from maestro.errors import Overloaded
from maestro.evidence.common import gc_paused
from maestro.evidence.model import Component, Evidence, Finding, ParsedEvidence, ParseOptions
from maestro.evidence.registry import parse_evidence

log = logging.getLogger("maestro.parse")
_OK, _OVER_MEMORY, _OVER_RESULT, _TOO_SLOW, _CRASHED = b"K", b"M", b"R", b"T", b"X"
_POLL = 0.01  # seconds between two looks at a worker's memory
_PAGE = os.sysconf("SC_PAGE_SIZE")
_BACKSTOP_SLACK = 256 * 1024**2
# How the registry and orjson word a failed allocation inside a finding.
_OUT_OF_MEMORY = ("MemoryError", "Not enough memory")
_CONTEXT = multiprocessing.get_context("forkserver")


@dataclass(frozen=True, slots=True)
class ParseBudget:
    max_bytes: int = 128 * 1024**2
    max_memory: int = 2 * 1024**3
    timeout: float = 120.0
    concurrency: int = 2
    queue_timeout: float = 10.0

    @property
    def max_result(self) -> int:
        return self.max_memory // 4

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseBudget:
        return cls(
            max_bytes=settings.max_parse_bytes,
            max_memory=settings.max_parse_memory,
            timeout=settings.parse_timeout,
            concurrency=settings.max_concurrent_parses,
            queue_timeout=settings.parse_queue_timeout,
        )


def unparsed(size: int, reason: str) -> ParsedEvidence:
    """Evidence for content that is stored but was not parsed, saying why."""
    evidence = Evidence(
        format="unparsed",
        evidence_type="other",
        valid=False,
        errors=[Finding(location="/", message=reason)],
        summary={"size": size},
    )
    return ParsedEvidence(evidence=evidence)


class Parser:
    """Runs ``parse_evidence`` in bounded worker processes; safe to share between threads."""

    def __init__(self, budget: ParseBudget) -> None:
        self.budget = budget
        self._slots = threading.BoundedSemaphore(budget.concurrency)
        # __main__ too, as multiprocessing does by default: each worker then finds it
        # imported already instead of importing the server's entry point again
        _CONTEXT.set_forkserver_preload(["__main__", __name__])

    def parse(self, path: Path, size: int, options: ParseOptions, declared_kind: str) -> ParsedEvidence:
        budget = self.budget
        if size > budget.max_bytes:
            return unparsed(size, f"content over {budget.max_bytes} bytes is stored but not parsed")
        if not self._slots.acquire(timeout=budget.queue_timeout):
            raise Overloaded(
                f"{budget.concurrency} uploads are being parsed and this one waited "
                f"{budget.queue_timeout:g} s for its turn; nothing was kept, retry later"
            )
        try:
            return self._in_worker(path, size, options, declared_kind)
        finally:
            self._slots.release()

    def _in_worker(self, path: Path, size: int, options: ParseOptions, declared_kind: str) -> ParsedEvidence:
        budget = self.budget
        receiver, sender = _CONTEXT.Pipe(duplex=False)
        worker = _CONTEXT.Process(
            target=_work,
            args=(str(path), options, declared_kind, budget.max_memory, budget.max_result, sender),
            name="maestro-parse",
            daemon=True,
        )
        try:
            worker.start()
        finally:
            sender.close()
        try:
            payload = self._watch(worker, receiver)
        except EOFError:  # the worker died without answering
            payload = _CRASHED
        finally:
            if worker.is_alive():
                worker.kill()
            worker.join()
            receiver.close()
        if payload == _CRASHED:
            return unparsed(size, self._died(worker.exitcode))
        return self._answer(payload, size)

    def _watch(self, worker: BaseProcess, receiver: Connection) -> bytes:
        """Wait for the answer, polling the worker's resident memory: past the budget it is
        killed (parsers never see a failed allocation, which some C code turns into a crash)."""
        budget = self.budget
        start = _rss(worker.pid)  # the forked worker before it read anything
        deadline = time.monotonic() + budget.timeout
        while not receiver.poll(_POLL):
            if _rss(worker.pid) - start > budget.max_memory:
                return _OVER_MEMORY
            if time.monotonic() > deadline:
                return _TOO_SLOW
            if not worker.is_alive() and not receiver.poll(0):
                return _CRASHED
        return receiver.recv_bytes(budget.max_result + 1)

    def _died(self, exitcode: int | None) -> str:
        """A worker that ended without an answer: past its hard memory limit, or a bug."""
        log.error("parse worker ended without an answer", extra={"exitcode": exitcode})
        return (
            f"the parser stopped (exit code {exitcode}), most likely at the "
            f"{self.budget.max_memory}-byte memory budget; stored but not parsed"
        )

    def _answer(self, payload: bytes, size: int) -> ParsedEvidence:
        status, body = payload[:1], payload[1:]
        if status == _TOO_SLOW:
            return unparsed(
                size, f"parsing took longer than {self.budget.timeout:g} s; stored but not parsed"
            )
        if status == _OVER_RESULT:
            return unparsed(
                size, f"the parsed result is over {self.budget.max_result} bytes; stored but not parsed"
            )
        if status != _OK:
            return unparsed(size, self._over_memory())
        return _decode(body)

    def _over_memory(self) -> str:
        limit = self.budget.max_memory
        return f"parsing needed more than the {limit}-byte memory budget; stored but not parsed"


def _data_segment() -> int:
    """This process's data segment in bytes (what RLIMIT_DATA counts), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0


def _rss(pid: int | None) -> int:
    """Resident bytes of a process; 0 once it is gone."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _ran_out_of_memory(evidence: Evidence) -> bool:
    """The registry turns any parser exception into a finding; a MemoryError (the hard
    limit) must not be reported as bad content, nor an archive as valid minus a member."""
    pending = [evidence]
    while pending:
        current = pending.pop()
        if any(marker in f.message for f in current.errors for marker in _OUT_OF_MEMORY):
            return True
        pending.extend(m.evidence for m in current.members if m.evidence is not None)
    return False


def _encode(parsed: ParsedEvidence) -> bytes:
    """The evidence pickled, then the components as JSON rows: pickling 500k dataclasses
    took 9 s (one memo entry and a Python-level reduce per object), this 0.5 s."""
    with gc_paused():
        evidence = pickle.dumps(parsed.evidence, protocol=pickle.HIGHEST_PROTOCOL)
        rows = orjson.dumps([(c.name, c.purl, c.version, c.hashes, c.licenses) for c in parsed.components])
    return len(evidence).to_bytes(8, "big") + evidence + rows


def _decode(body: bytes) -> ParsedEvidence:
    """``_encode`` reversed (our own worker's answer, never a client's bytes)."""
    split = 8 + int.from_bytes(body[:8], "big")
    with gc_paused():  # hundreds of thousands of small containers: no collection passes meanwhile
        evidence: Evidence = pickle.loads(body[8:split])
        components = [Component(*row) for row in orjson.loads(body[split:])]
    return ParsedEvidence(evidence, components)


def _work(path: str, options: ParseOptions, kind: str, memory: int, cap: int, out: Connection) -> None:
    """The worker process: a hard memory limit as a backstop for an allocation burst
    between two of the parent's polls, then parse and answer with a status byte and
    the pickle."""
    # Generous: it counts address space parsers reserve without touching (orjson reserves a
    # buffer sized from the input); the polled resident size is the budget proper.
    limit = _data_segment() + 4 * memory + _BACKSTOP_SLACK
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    try:
        parsed = parse_evidence(Path(path).read_bytes(), options, declared_kind=kind)
        if _ran_out_of_memory(parsed.evidence):
            out.send_bytes(_OVER_MEMORY)
            return
        answer = _encode(parsed)
    except MemoryError:
        out.send_bytes(_OVER_MEMORY)
        return
    out.send_bytes(_OVER_RESULT if len(answer) > cap else _OK + answer)
