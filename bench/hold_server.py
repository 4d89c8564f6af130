"""One build's seeded Maestro, served until stdin closes: the server side of bench/paired.py.

Run with the *build's own* venv; ``--bench`` names that build's ``bench/`` directory, so
the database is migrated, seeded and served by the build's own code exactly as its
``bench/run.py`` would. Once the server answers, one line ``HOLD {json}`` on stdout gives
its URL, its process session (whose CPU is the server's) and every scenario's request;
closing stdin stops the server and drops the database. Older builds' bench modules
differ slightly (no token plans, ``prepare`` returning only the dataset); both shapes work.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
from pathlib import Path
from typing import Any

MARKER = "HOLD "


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", type=Path, required=True, help="the build's bench/ directory")
    p.add_argument("--backend", choices=("sqlite", "postgres"), required=True)
    p.add_argument("--pg-db", required=True, help="PostgreSQL database of this build alone")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument(
        "--plan-flag", action="append", default=[], help="a Plan field to set: token, unaudited..."
    )
    args = p.parse_args()
    sys.path.insert(0, str(args.bench))
    import maestro_target  # the build's own bench modules, from --bench
    import procs
    import servers

    procs.install_cleanup()
    maestro_target.PG_DATABASE = args.pg_db
    fields = {f.name for f in dataclasses.fields(maestro_target.Plan)}
    unknown = set(args.plan_flag) - fields
    if unknown:
        p.error(f"this build's bench has no plan field(s) {sorted(unknown)}")
    flags: dict[str, Any] = dict.fromkeys(args.plan_flag, True)
    plan = maestro_target.Plan(concurrencies=[1, 16], seconds=3, warmup_s=1, **flags)
    args.workdir.mkdir(parents=True, exist_ok=True)
    with maestro_target.fresh_database(args.backend, args.workdir) as url:
        prepared = maestro_target.prepare(args.backend, url, plan)
        data, token = prepared if isinstance(prepared, tuple) else (prepared, None)
        with maestro_target.serving(servers.ServerSpec(), url, plan, args.workdir, args.backend) as server:
            takes_token = "token" in inspect.signature(maestro_target.build_requests).parameters
            extra = {"token": token} if takes_token else {}
            requests = maestro_target.build_requests(server.base_url, data, plan, args.workdir, **extra)
            described = {
                name: {
                    "method": r.method,
                    "path": r.path,
                    "body": r.body,
                    "ids_file": str(r.ids_file) if r.ids_file else None,
                    "expected_status": r.expected_status,
                    "token": token,
                }
                for name, r in requests.items()
            }
            hello = {"base_url": server.base_url, "session_id": server.session_id, "requests": described}
            print(MARKER + json.dumps(hello), flush=True)
            sys.stdin.read()  # until bench/paired.py closes our stdin (or dies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
