"""Start servers under test in their own session, read their CPU time, and always stop them.

Every server is started with ``start_new_session=True`` so that it and all the
workers it forks share one session id equal to the leader's pid. That gives us
two things with no cooperation from the server: CPU accounting that covers every
worker (we sum ``/proc/<pid>/stat`` over the session), and a clean way to stop
the whole tree (``killpg`` on that id) even after Ctrl-C or an exception.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ProcStat:
    """The fields of ``/proc/<pid>/stat`` this benchmark needs."""

    pid: int
    comm: str
    session: int
    cpu_ticks: int  # utime + stime + cutime + cstime


def read_proc_stat(pid: int) -> ProcStat | None:
    """Parse one process's stat line; ``None`` when it exited meanwhile.

    ``comm`` may contain spaces and parentheses, so fields are split after the
    *last* ``)``. cutime/cstime are included: a worker that exits and is reaped
    during a scenario moves its CPU time into its parent's counters, so the
    session total stays monotonic.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    head, _, tail = raw.rpartition(")")
    comm = head.split("(", 1)[1]
    fields = tail.split()
    # fields[0] is field 3 (state) of proc(5); utime is field 14 -> index 11.
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ProcStat(pid=pid, comm=comm, session=int(fields[3]), cpu_ticks=ticks)


def _all_stats() -> Iterator[ProcStat]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = read_proc_stat(int(entry.name))
            if stat is not None:
                yield stat


def session_cpu_seconds(session_id: int) -> float:
    """CPU seconds (user+system) used so far by every process in a session."""
    ticks = sum(s.cpu_ticks for s in _all_stats() if s.session == session_id)
    return ticks / _CLK_TCK


def comm_cpu_seconds(comm: str) -> float:
    """CPU seconds used so far by every process with this name (PostgreSQL backends)."""
    ticks = sum(s.cpu_ticks for s in _all_stats() if s.comm == comm)
    return ticks / _CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (first line of /proc/stat, idle and iowait excluded)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / _CLK_TCK


def children_cpu_seconds() -> float:
    """CPU seconds of our reaped children: around one wrk run, that is wrk's own CPU."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    """A currently unused TCP port on 127.0.0.1: the kernel picks it, or, with
    ``MAESTRO_BENCH_PORTS=LOW-HIGH`` (sessions sharing a machine each keep to a range),
    the first free one in that range."""
    bounds = os.environ.get("MAESTRO_BENCH_PORTS")
    candidates = [0]
    if bounds:
        low, _, high = bounds.partition("-")
        candidates = list(range(int(low), int(high) + 1))
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError(f"no free port in MAESTRO_BENCH_PORTS={bounds}")


@dataclass
class Server:
    """A running server under test: its session leader and where it listens."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def session_id(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        return session_cpu_seconds(self.session_id)


def _wait_ready(server: Server, ready_path: str, timeout_s: float) -> None:
    """Poll until the server answers HTTP at all; fail early if it died."""
    deadline = time.monotonic() + timeout_s
    url = server.base_url + ready_path
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}; see {server.log_path}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer, even 404, means it is serving
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{server.name} not ready after {timeout_s:.0f}s; see {server.log_path}")


def _wait_idle(server: Server, timeout_s: float, busy_cores: float = 0.05, window_s: float = 1.0) -> None:
    """Wait until the server's session stops burning CPU after answering its first request.

    MLflow, for one, answers /health while it still spawns and imports a job
    runner and several huey consumers (about two cores for several seconds);
    measuring then would bill that start-up work to the first scenario.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(window_s)
        if (server.cpu_seconds() - before) / window_s < busy_cores:
            return
    print(f"warning: {server.name} still busy after {timeout_s:.0f}s; measuring anyway", flush=True)


def stop(server: Server) -> None:
    """SIGTERM the whole session, then SIGKILL what is left after a grace period."""
    proc = _STARTED.pop(server.process.pid, None)
    if proc is None:
        return
    _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    # Workers may outlive the leader for a moment; make sure none is left.
    deadline = time.monotonic() + 5
    while any(s.session == proc.pid for s in _all_stats()) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def stop_all() -> None:
    """Stop every server this process started; registered with atexit."""
    for pid in list(_STARTED):
        proc = _STARTED.pop(pid)
        _kill_group(proc)


@contextlib.contextmanager
def running(
    name: str,
    argv: Sequence[str],
    *,
    port: int,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ready_path: str = "/",
    timeout_s: float = 90,
) -> Iterator[Server]:
    """Start a server, wait until it answers, yield it, and stop it on any exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = dict(os.environ)
    full_env.update(env or {})
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    _STARTED[proc.pid] = proc
    server = Server(name=name, process=proc, port=port, log_path=log_path)
    try:
        _wait_ready(server, ready_path, timeout_s)
        _wait_idle(server, timeout_s)
        yield server
    finally:
        stop(server)


def _on_signal(signum: int, _frame: object) -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so ``finally`` blocks stop the servers."""
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    """Make sure servers die with us on normal exit, Ctrl-C, SIGTERM or SIGHUP."""
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
