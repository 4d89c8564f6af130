"""MLflow's tracking server as the reference point for "create run" and "update run".

MLflow is the tool Maestro's users would otherwise reach for, so its REST API
(SQLite backend, one worker, as a single-node install runs it) is the baseline
for the throughput and CPU-per-run ratios. It lives in its own virtualenv,
bench/.venv-mlflow, because its dependency tree (Flask, pandas, ...) must not
leak into the project's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpjson
import loadgen
import procs

BENCH_DIR = Path(__file__).resolve().parent
VENV = BENCH_DIR / ".venv-mlflow"
# 3.18.0's wheel needs mlflow-skinny==3.18.0, which the package index does not have yet.
MLFLOW_REQUIREMENT = "mlflow==3.17.2"


def ensure_installed() -> Path:
    """The ``mlflow`` executable, creating the venv and installing the pinned version once."""
    exe = VENV / "bin" / "mlflow"
    if exe.exists():
        return exe
    print(f"installing {MLFLOW_REQUIREMENT} into {VENV} (one-off, a few minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", MLFLOW_REQUIREMENT], check=True)
    return exe


def server_argv(exe: Path, workdir: Path, port: int) -> list[str]:
    """``mlflow server`` on a fresh SQLite file with one worker, bound to loopback only."""
    return [
        str(exe),
        "server",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def _create_experiment(base: str) -> str:
    body = {"name": f"maestro-bench-{time.time_ns()}"}
    reply = httpjson.call("POST", f"{base}/api/2.0/mlflow/experiments/create", body)
    return str(httpjson.expect(reply, 200, "mlflow create experiment")["experiment_id"])


def _create_runs(base: str, experiment_id: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        body = {
            "experiment_id": experiment_id,
            "run_name": f"seed-{i}",
            "start_time": int(time.time() * 1000),
        }
        reply = httpjson.call("POST", f"{base}/api/2.0/mlflow/runs/create", body)
        ids.append(str(httpjson.expect(reply, 200, "mlflow create run")["run"]["info"]["run_id"]))
    return ids


def scenarios(base: str, workdir: Path) -> dict[str, loadgen.Request]:
    """create_run and patch_run (MLflow's runs/update), named like Maestro's for the ratios."""
    experiment_id = _create_experiment(base)
    ids_file = workdir / "mlflow_run_ids.txt"
    ids_file.write_text("\n".join(_create_runs(base, experiment_id, 200)) + "\n")
    create_body = (
        f'{{"experiment_id": "{experiment_id}", "run_name": "run-{{n}}", "start_time": 1764150000000, '
        '"tags": [{"key": "owner", "value": "bench-writer"}]}'
    )
    update_body = '{"run_id": "{id}", "status": "RUNNING", "run_name": "renamed-{n}"}'
    return {
        "create_run": loadgen.Request("POST", "/api/2.0/mlflow/runs/create", create_body),
        "patch_run": loadgen.Request("POST", "/api/2.0/mlflow/runs/update", update_body, ids_file=ids_file),
    }


def run(workdir: Path, concurrencies: list[int], seconds: int, warmup_s: int) -> list[loadgen.Measurement]:
    """Start MLflow, measure both scenarios, stop it."""
    exe = ensure_installed()
    workdir.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    argv = server_argv(exe, workdir, port)
    results: list[loadgen.Measurement] = []
    print("mlflow: starting server", flush=True)
    with procs.running(
        "mlflow",
        argv,
        port=port,
        log_path=workdir / "mlflow.log",
        cwd=workdir,
        ready_path="/health",
        timeout_s=180,
    ) as server:
        probe = loadgen.CpuProbe(server.cpu_seconds)
        config = {"server": "mlflow/w1", "backend": "sqlite"}
        for name, req in scenarios(server.base_url, workdir).items():
            labels = loadgen.Labels("mlflow", "sqlite", name, config)
            results += loadgen.measure(
                server.base_url,
                req,
                labels=labels,
                probe=probe,
                concurrencies=concurrencies,
                seconds=seconds,
                warmup_s=warmup_s,
            )
    return results
