"""Fill a migrated Maestro database with 100k runs and 10k, then 1M, artifacts, fast.

Why not through the API: 1M POSTs would take longer than the whole benchmark.
Rows go straight into the tables defined in ``maestro.db.tables`` (so a schema
change breaks seeding loudly instead of silently measuring a stale shape):
SQLAlchemy Core ``executemany`` in 50k-row batches on SQLite, ``COPY`` through
psycopg on PostgreSQL. The data is deterministic (fixed RNG seed) so runs on
different days compare.

Shape, chosen so each scenario has a well-defined target:
- 1000 owners x 100 runs: ``?owner=`` is the "selective" list (~100 matches);
- 20% of runs are ``failed``: ``?status=failed`` is the broad list (~20k matches);
- every 50th run is a *gate run*: succeeded, with exactly 3 artifacts, the
  last compliant, so the release gate reads a few rows while the artifacts
  table grows from 10k to 1M around it;
- the filler artifacts belong to other runs only.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import JSON, Engine, Table, create_engine, insert, text

from maestro.db.tables import ArtifactRow, RunLinkRow, RunRow
from maestro.ids import uuid7

RUNS_T = cast(Table, RunRow.__table__)
LINKS_T = cast(Table, RunLinkRow.__table__)
ARTIFACTS_T = cast(Table, ArtifactRow.__table__)

OWNERS = 1000
GATE_EVERY = 50
ENTITIES = 5000
BATCH = 50_000
_STATUS_WEIGHTS = (("succeeded", 60), ("failed", 20), ("running", 10), ("pending", 5), ("cancelled", 5))
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_FILLER_KINDS = ("build_log", "test_report", "other", "sbom")


@dataclass
class Dataset:
    """The ids scenarios need, remembered while seeding instead of queried back."""

    run_ids: list[str] = field(default_factory=list)
    gate_run_ids: list[str] = field(default_factory=list)
    filler_run_ids: list[str] = field(default_factory=list)
    artifacts: int = 0


def owner_name(index: int) -> str:
    """Run ``index``'s owner; every owner gets every OWNERS-th run (100 of 100k)."""
    return f"owner-{index % OWNERS:04d}"


def _statuses(rng: random.Random, count: int) -> list[str]:
    names = [s for s, _ in _STATUS_WEIGHTS]
    weights = [w for _, w in _STATUS_WEIGHTS]
    return rng.choices(names, weights=weights, k=count)


def _run_rows(count: int, dataset: Dataset) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(run row, entity link row) pairs; started_at spaced one minute apart, oldest first."""
    rng = random.Random(42)
    statuses = _statuses(rng, count)
    for i in range(count):
        run_id = uuid7()
        gate = i % GATE_EVERY == 0
        status = "succeeded" if gate else statuses[i]
        started = _EPOCH + timedelta(minutes=i)
        entity = f"entity-{i % ENTITIES:05d}"
        (dataset.gate_run_ids if gate else dataset.filler_run_ids).append(run_id)
        dataset.run_ids.append(run_id)
        terminal = status in ("succeeded", "failed", "cancelled")
        yield (
            {
                "id": run_id,
                "name": f"nightly-build-{i}",
                "owner": owner_name(i),
                "status": status,
                "started_at": started,
                "finished_at": started + timedelta(seconds=rng.randint(30, 3600)) if terminal else None,
                "cost_estimate": round(rng.uniform(0.5, 50.0), 2),
                "cost_actual": round(rng.uniform(0.5, 50.0), 2) if terminal else None,
                "related_entity_ids": [entity],
                "related_decision_ids": [],
                "metadata": {"git_sha": f"{rng.getrandbits(40):010x}", "pipeline": "ci"},
                "updated_at": started,
                "version": 1,
            },
            {"run_id": run_id, "kind": "entity", "target_id": entity, "started_at": started},
        )


def _artifact(run_id: str, kind: str, created: datetime, flags: tuple[bool, bool, bool]) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "run_id": run_id,
        "kind": kind,
        "path_or_uri": f"s3://maestro-bench/{run_id}/{kind}.json",
        "content_hash": None,
        "created_at": created,
        "sbom_present": flags[0],
        "slsa_provenance_present": flags[1],
        "risk_assessment_present": flags[2],
        "additional_metadata": {"bytes": 1024},
    }


_APP_SHA256 = "b" * 64


def _verified_evidence() -> dict[str, dict[str, Any]]:
    """Stored evidence views (as an upload writes them) of an SBOM describing the release,
    SLSA provenance naming it as subject, and a risk assessment with no open high risk:
    the gate runs pass ``verified-evidence`` as well as ``seed-default``."""
    import json

    from maestro.evidence.compact import compact
    from maestro.evidence.model import ParseOptions
    from maestro.evidence.registry import parse_evidence

    app = {"type": "application", "name": "app", "version": "2.0", "purl": "pkg:pypi/app@2.0"}
    sbom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": {**app, "hashes": [{"alg": "SHA-256", "content": _APP_SHA256}]}},
        "components": [{"type": "library", "name": "lib", "version": "1.0", "purl": "pkg:pypi/lib@1.0"}],
    }
    provenance = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.whl", "digest": {"sha256": _APP_SHA256}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {"buildType": "https://example.com/build/v1", "externalParameters": {}},
            "runDetails": {"builder": {"id": "https://ci.example.com/builder"}},
        },
    }
    risk = {
        "_type": "https://maestro.dev/risk-assessment/v1",
        "assessor": "sec",
        "date": "2026-01-01T00:00:00Z",
        "scope": "app 2.0",
        "overall_rating": "low",
        "risks": [
            {"id": "R1", "title": "t", "severity": "high", "status": "mitigated", "justification": "j"}
        ],
    }
    views = {}
    for kind, doc in (("sbom", sbom), ("slsa_provenance", provenance), ("risk_assessment", risk)):
        evidence = parse_evidence(json.dumps(doc).encode(), ParseOptions()).evidence
        if not evidence.valid:
            raise RuntimeError(f"bench {kind} evidence does not parse: {evidence.errors}")
        views[kind] = compact(evidence).model_dump(mode="json")
    return views


def _gate_artifacts(dataset: Dataset) -> Iterator[dict[str, Any]]:
    """Three per gate run: two partial pieces of evidence and one compliant artifact, each
    with verified evidence (views only: no blob is stored)."""
    created = _EPOCH + timedelta(days=200)
    views = _verified_evidence()
    for run_id in dataset.gate_run_ids:
        for kind, flags in (
            ("sbom", (True, False, False)),
            ("slsa_provenance", (False, True, False)),
            ("risk_assessment", (True, True, True)),
        ):
            yield {
                **_artifact(run_id, kind, created, flags),
                "evidence": views[kind],
                "verified_sbom": kind == "sbom",
                "verified_slsa_provenance": kind == "slsa_provenance",
                "verified_risk_assessment": kind == "risk_assessment",
            }


def _filler_artifacts(dataset: Dataset, count: int, offset: int) -> Iterator[dict[str, Any]]:
    """Non-compliant artifacts spread round-robin over the non-gate runs."""
    runs = dataset.filler_run_ids
    created = _EPOCH + timedelta(days=210)
    for k in range(offset, offset + count):
        kind = _FILLER_KINDS[k % len(_FILLER_KINDS)]
        yield _artifact(runs[k % len(runs)], kind, created + timedelta(milliseconds=k), (False, False, False))


def _batches(rows: Iterable[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_columns(table: Table, keys: Iterable[str]) -> list[str]:
    """The columns to write: those the seeder fills; any other must be nullable or defaulted.

    The schema keeps growing (upload columns, verification flags...); columns the
    seeder does not know are left to NULL or their default, and a new NOT NULL
    column without a default stops the run with a message saying what to add here.
    """
    known = set(keys)
    missing = [
        c.name
        for c in table.columns
        if c.name not in known and not c.nullable and c.server_default is None and c.default is None
    ]
    if missing:
        raise RuntimeError(f"bench/seed.py does not fill {table.name}.{missing} (NOT NULL, no default)")
    unknown = known - {c.name for c in table.columns}
    if unknown:
        raise RuntimeError(f"bench/seed.py fills {sorted(unknown)}, which {table.name} no longer has")
    return [c.name for c in table.columns if c.name in known]


class Loader:
    """Bulk-inserts row dicts into one of Maestro's tables, the fastest way per backend."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        self.dialect = self.engine.dialect.name

    def load(self, table: Table, rows: Iterable[dict[str, Any]]) -> int:
        iterator = iter(rows)
        first = next(iterator, None)
        if first is None:
            return 0
        columns = _check_columns(table, first)
        rest = itertools.chain([first], iterator)
        if self.dialect == "postgresql":
            return self._copy(table, columns, rest)
        return self._executemany(table, rest)

    def _executemany(self, table: Table, rows: Iterable[dict[str, Any]]) -> int:
        total = 0
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA synchronous=OFF")  # seeding only: durability is not the point
            conn.commit()
            for batch in _batches(rows):
                conn.execute(insert(table), batch)
                conn.commit()
                total += len(batch)
        return total

    def _copy(self, table: Table, columns: list[str], rows: Iterable[dict[str, Any]]) -> int:
        from psycopg.types.json import Jsonb  # imported here: SQLite-only runs need no psycopg

        json_cols = {c.name for c in table.columns if isinstance(c.type, JSON)}
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        total = 0
        raw = self.engine.raw_connection()
        try:
            driver = cast(Any, raw.driver_connection)
            with driver.cursor() as cur, cur.copy(statement) as copy:
                for row in rows:
                    copy.write_row([Jsonb(row[c]) if c in json_cols else row[c] for c in columns])
                    total += 1
            driver.commit()
        finally:
            raw.close()
        return total

    def analyze(self) -> None:
        """Refresh planner statistics, as autovacuum/ANALYZE would on a live database."""
        if self.dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()

    def count(self, table: Table) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table.name}")).scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def seed_initial(url: str, runs: int, artifacts: int) -> Dataset:
    """Runs, their entity links, the gate runs' artifacts and filler up to ``artifacts`` total."""
    dataset = Dataset()
    loader = Loader(url)
    try:
        started = time.monotonic()
        pairs = list(_run_rows(runs, dataset))
        loader.load(RUNS_T, (run for run, _ in pairs))
        loader.load(LINKS_T, (link for _, link in pairs))
        gate = loader.load(ARTIFACTS_T, _gate_artifacts(dataset))
        filler = loader.load(ARTIFACTS_T, _filler_artifacts(dataset, max(artifacts - gate, 0), 0))
        dataset.artifacts = gate + filler
        loader.analyze()
        print(
            f"  seeded {runs} runs, {dataset.artifacts} artifacts in {time.monotonic() - started:.1f}s",
            flush=True,
        )
    finally:
        loader.close()
    return dataset


def grow_artifacts(url: str, dataset: Dataset, total: int) -> None:
    """Add filler artifacts until the table holds at least ``total`` rows."""
    loader = Loader(url)
    try:
        started = time.monotonic()
        missing = total - loader.count(ARTIFACTS_T)
        if missing > 0:
            dataset.artifacts += loader.load(
                ARTIFACTS_T, _filler_artifacts(dataset, missing, dataset.artifacts)
            )
        loader.analyze()
        now = loader.count(ARTIFACTS_T)
        print(
            f"  artifacts table now {now} rows (+{max(missing, 0)} in {time.monotonic() - started:.1f}s)",
            flush=True,
        )
    finally:
        loader.close()
