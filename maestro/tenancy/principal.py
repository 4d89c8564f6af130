"""The principal of a request: which tenant it acts for, with which role."""

from __future__ import annotations

from dataclasses import dataclass

from maestro.tenancy.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking. ``token_id`` is None in local mode (``local=True``): no token exists
    yet and the request came from loopback, so it acts as the admin of tenant ``default``."""

    tenant_id: str
    role: Role
    token_id: str | None
    local: bool = False

    @classmethod
    def local_admin(cls) -> Principal:
        return cls(tenant_id="default", role=Role.ADMIN, token_id=None, local=True)
