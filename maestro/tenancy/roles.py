"""Who may call what: one table from (method, route path template) to the least role.

Roles are ordered ``viewer < writer < admin`` and each includes the ones below
it. The table is the single place a route's access is decided; a test walks the
application's routes and fails when one is neither here nor in ``OPEN_ROUTES``,
so a new route cannot ship without a decision. ``HEAD`` is looked up as ``GET``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Role(StrEnum):
    """A token's role within its tenant, ordered by what it may do (not alphabetically:
    every comparison is defined here, as ``str``'s would otherwise answer)."""

    VIEWER = "viewer"
    WRITER = "writer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def __lt__(self, other: str) -> bool:
        return self.rank < Role(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= Role(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > Role(other).rank

    def __ge__(self, other: str) -> bool:
        return self.rank >= Role(other).rank

    def allows(self, needed: Role) -> bool:
        """Whether a holder of this role may call a route needing ``needed``."""
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.WRITER: 1, Role.ADMIN: 2}

# Answered without a principal: probes, the API description and its documentation.
OPEN_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/redoc"),
    }
)
# Mounted static files (Swagger UI and Redoc bundles): open, whatever the path below them.
OPEN_MOUNTS: frozenset[str] = frozenset({"/docs/assets"})

V, W, A = Role.VIEWER, Role.WRITER, Role.ADMIN
ROUTE_ROLES: dict[tuple[str, str], Role] = {
    # runs
    ("POST", "/maestro/runs"): W,
    ("GET", "/maestro/runs"): V,
    ("GET", "/maestro/runs/{run_id}"): V,
    ("PATCH", "/maestro/runs/{run_id}"): W,
    ("GET", "/maestro/runs/{run_id}/manifest"): V,
    ("GET", "/maestro/runs/{run_id}/release-gate"): V,
    ("GET", "/maestro/runs/{run_id}/gate-evaluations"): V,
    ("GET", "/maestro/runs/{run_id}/lineage"): V,
    ("GET", "/maestro/runs/{base_run_id}/sbom-diff/{head_run_id}"): V,
    # artifacts and their evidence
    ("POST", "/maestro/artifacts"): W,
    ("GET", "/maestro/artifacts"): V,
    ("GET", "/maestro/artifacts/{artifact_id}"): V,
    ("GET", "/maestro/artifacts/{artifact_id}/evidence"): V,
    ("GET", "/maestro/artifacts/{artifact_id}/evidence/members"): V,
    ("GET", "/maestro/artifacts/{artifact_id}/components"): V,
    ("PUT", "/maestro/artifacts/{artifact_id}/content"): W,
    ("GET", "/maestro/artifacts/{artifact_id}/content"): V,
    # disclosure packs
    ("POST", "/maestro/disclosure-packs"): W,
    ("GET", "/maestro/disclosure-packs"): V,
    ("GET", "/maestro/disclosure-packs/{pack_id}"): V,
    # the export carries the pack's own audit events, never the rest of the tenant's log
    ("GET", "/maestro/disclosure-packs/{pack_id}/export"): V,
    # the component index
    ("GET", "/maestro/components"): V,
    # trusted keys: anyone may see what is trusted; changing it is an admin's decision
    ("POST", "/maestro/trusted-keys"): A,
    ("GET", "/maestro/trusted-keys"): V,
    ("GET", "/maestro/trusted-keys/{key_id}"): V,
    ("DELETE", "/maestro/trusted-keys/{key_id}"): A,
    # release policies: anyone may read what judges a release; changing it is an admin's decision
    ("POST", "/maestro/policies"): A,
    ("GET", "/maestro/policies"): V,
    ("GET", "/maestro/policies/{policy_id}"): V,
    ("GET", "/maestro/policies/{policy_id}/versions"): V,
    # a dry-run writes nothing and shows no more than ?policy= on each run's gate shows a viewer
    ("POST", "/maestro/policies/{policy_id}/dry-run"): V,
    ("POST", "/maestro/policy-assignments"): A,
    ("GET", "/maestro/policy-assignments"): V,
    ("GET", "/maestro/policy-assignments/{assignment_id}"): V,
    ("DELETE", "/maestro/policy-assignments/{assignment_id}"): A,
    # waivers: anyone may see what is waived and why; waiving or revoking is an admin's decision
    ("POST", "/maestro/waivers"): A,
    ("GET", "/maestro/waivers"): V,
    ("GET", "/maestro/waivers/{waiver_id}"): V,
    ("POST", "/maestro/waivers/{waiver_id}/revoke"): A,
    # tokens and tenants
    ("POST", "/maestro/tokens"): A,
    ("GET", "/maestro/tokens"): A,
    ("DELETE", "/maestro/tokens/{token_id}"): A,
    ("POST", "/maestro/tenants"): A,
    ("GET", "/maestro/tenants"): A,
    # audit (issue 9, section 2): the log is an admin's export; the server's public keys are public
    ("GET", "/maestro/audit"): A,
    ("GET", "/maestro/audit/checkpoint"): A,
    ("GET", "/maestro/audit/proofs/inclusion"): A,
    ("GET", "/maestro/audit/proofs/consistency"): A,
    ("GET", "/maestro/keys"): V,
}


class UnknownRoute(LookupError):
    """A route the table does not list: refused, never assumed open."""


def _method(method: str) -> str:
    method = method.upper()
    return "GET" if method == "HEAD" else method


def is_open(method: str, path: str) -> bool:
    """Whether (method, path template) is served without a principal."""
    return (_method(method), path) in OPEN_ROUTES or path in OPEN_MOUNTS


def required_role(method: str, path: str, table: Mapping[tuple[str, str], Role] = ROUTE_ROLES) -> Role:
    """The least role for (method, path template); raises UnknownRoute for a route not listed.
    ``table`` is the application's (``app.state.route_roles``: this one, unless an app
    built for tests adds routes of its own)."""
    try:
        return table[(_method(method), path)]
    except KeyError:
        raise UnknownRoute(f"{method} {path} has no entry in maestro.tenancy.roles.ROUTE_ROLES") from None
