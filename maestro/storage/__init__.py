"""The seed's name for the data layer, kept importable.

Each resource's queries now live with it - ``maestro.runs.repository``,
``maestro.artifacts.repository``, ``maestro.packs.repository`` - and take the
caller's scope (``maestro.platform.scope``); what is shared by several resources
(blobs, evidence views, the component index, idempotency records) stays here.
"""

from __future__ import annotations

from maestro.artifacts.repository import ArtifactRecord, get_artifact, list_artifacts
from maestro.db.records import keyset
from maestro.packs.repository import PackRecord, get_pack, list_packs
from maestro.runs.repository import RunFilter, RunRecord, get_run, list_runs, run_exists

__all__ = [
    "ArtifactRecord",
    "PackRecord",
    "RunFilter",
    "RunRecord",
    "get_artifact",
    "get_pack",
    "get_run",
    "keyset",
    "list_artifacts",
    "list_packs",
    "list_runs",
    "run_exists",
]
