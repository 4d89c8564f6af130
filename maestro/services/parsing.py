"""Parsing an upload with a memory and time budget the kernel enforces.

Measured in-process, parse memory had no useful bound: a 3.7 MB zip under the
ratio limit cost +366 MiB, eight in parallel +2.1 GB, a 54 MB JUnit file
+982 MiB, and CPython rarely gives such peaks back to the OS. So each parse
runs in a short-lived worker process forked from a ``forkserver`` that has the
parsers preloaded (a few milliseconds per parse):

- the worker reads the spooled file itself; the server never holds the bytes;
- its data segment is capped with ``RLIMIT_DATA`` at its start-up size plus
  ``max_memory``: an allocation past that fails inside the worker only;
- it is killed after ``timeout`` seconds;
- its answer (the pickled ``ParsedEvidence``) is capped at ``max_memory // 4``
  bytes, so what the server itself builds from it stays within about the same
  budget again;
- at most ``concurrency`` workers run at once; an upload waits at most
  ``queue_timeout`` seconds for one, then gets 503 ``overloaded``.

Content the budget cannot parse is stored and served like content over
``max_bytes``: its evidence is ``unparsed`` with the reason.
"""

from __future__ import annotations

import multiprocessing
import pickle
import resource
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from maestro.config import Settings
from maestro.errors import Overloaded
from maestro.evidence.model import Evidence, Finding, ParsedEvidence, ParseOptions
from maestro.evidence.registry import parse_evidence

_OK, _OVER_MEMORY, _OVER_RESULT = b"K", b"M", b"R"
_CONTEXT = multiprocessing.get_context("forkserver")


@dataclass(frozen=True, slots=True)
class ParseBudget:
    max_bytes: int = 128 * 1024**2
    max_memory: int = 1024**3
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
        _CONTEXT.set_forkserver_preload([__name__])

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
            sender.close()
            if not receiver.poll(budget.timeout):
                return unparsed(size, f"parsing took longer than {budget.timeout:g} s; stored but not parsed")
            payload = receiver.recv_bytes(budget.max_result + 1)
        except EOFError:  # the worker died without answering: the kernel's limit or a crash
            return unparsed(size, self._over_memory())
        finally:
            if worker.is_alive():
                worker.kill()
            worker.join()
            receiver.close()
            worker.close()
        return self._answer(payload, size)

    def _answer(self, payload: bytes, size: int) -> ParsedEvidence:
        status, body = payload[:1], payload[1:]
        if status == _OVER_RESULT:
            return unparsed(
                size, f"the parsed result is over {self.budget.max_result} bytes; stored but not parsed"
            )
        if status != _OK:
            return unparsed(size, self._over_memory())
        parsed: ParsedEvidence = pickle.loads(body)  # our own worker's answer, never a client's
        return parsed

    def _over_memory(self) -> str:
        limit = self.budget.max_memory
        return f"parsing needed more than the {limit}-byte memory budget; stored but not parsed"


def _data_segment() -> int:
    """This process's data segment in bytes (what RLIMIT_DATA counts), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmData:"):
            return int(line.split()[1]) * 1024
    return 0


def _ran_out_of_memory(evidence: Evidence) -> bool:
    """The registry turns any parser exception into a finding; MemoryError must not be
    reported as bad content (nor an archive as valid with a member missing)."""
    pending = [evidence]
    while pending:
        current = pending.pop()
        if any("MemoryError" in finding.message for finding in current.errors):
            return True
        pending.extend(m.evidence for m in current.members if m.evidence is not None)
    return False


def _work(path: str, options: ParseOptions, kind: str, memory: int, cap: int, out: Connection) -> None:
    """The worker process: cap memory, parse, answer with a status byte and the pickle."""
    limit = _data_segment() + memory
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    try:
        parsed = parse_evidence(Path(path).read_bytes(), options, declared_kind=kind)
        if _ran_out_of_memory(parsed.evidence):
            out.send_bytes(_OVER_MEMORY)
            return
        answer = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        out.send_bytes(_OVER_MEMORY)
        return
    out.send_bytes(_OVER_RESULT if len(answer) > cap else _OK + answer)
