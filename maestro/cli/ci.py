"""The CI pipeline a command runs in, recorded in a run's metadata under ``"ci"``.

A run created from CI should say which pipeline made it, so a release can be
traced back to the commit and the job log. Only GitHub Actions and GitLab CI
are recognised; elsewhere nothing is recorded. Variables that are unset are left
out rather than stored as empty strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def detect(env: Mapping[str, str]) -> dict[str, Any] | None:
    """The pipeline's identity, or ``None`` outside a known CI system."""
    if env.get("GITHUB_ACTIONS") == "true":
        return _github(env)
    if env.get("GITLAB_CI") == "true":
        return _gitlab(env)
    return None


def _github(env: Mapping[str, str]) -> dict[str, Any]:
    server, repo, run_id = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    url = f"{server.rstrip('/')}/{repo}/actions/runs/{run_id}" if server and repo and run_id else None
    return _present(
        provider="github",
        repository=repo,
        sha=env.get("GITHUB_SHA"),
        ref=env.get("GITHUB_REF"),
        workflow=env.get("GITHUB_WORKFLOW"),
        pipeline_id=run_id,
        url=url,
    )


def _gitlab(env: Mapping[str, str]) -> dict[str, Any]:
    return _present(
        provider="gitlab",
        repository=env.get("CI_PROJECT_PATH"),
        sha=env.get("CI_COMMIT_SHA"),
        ref=env.get("CI_COMMIT_REF_NAME"),
        pipeline_id=env.get("CI_PIPELINE_ID"),
        job_id=env.get("CI_JOB_ID"),
        url=env.get("CI_PIPELINE_URL"),
    )


def _present(**values: str | None) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value}
