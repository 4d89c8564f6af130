"""/maestro/tokens and /maestro/tenants: admin endpoints (see ``maestro.tenancy.roles``).

A token's secret appears once, in the 201 answer that creates it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from maestro.api.deps import UowDep
from maestro.api.responses import JSON, json_response
from maestro.models import ErrorBody
from maestro.tenancy import tokens
from maestro.tenancy.auth import CurrentPrincipal
from maestro.tenancy.contract import TENANT_ID_PATTERN, Tenant, TenantCreate, Token, TokenCreate, TokenSecret

router = APIRouter(tags=["tokens and tenants"])
_TOKENS = TypeAdapter(list[Token])
_TENANTS = TypeAdapter(list[Tenant])
_ERR = {"model": ErrorBody}


@router.post(
    "/maestro/tokens",
    status_code=201,
    response_model=TokenSecret,
    responses={404: {**_ERR, "description": "The tenant does not exist."}, 422: _ERR},
)
def create_token(body: TokenCreate, uow: UowDep, principal: CurrentPrincipal) -> Response:
    """Create a token; the answer carries its secret, shown this once."""
    created = tokens.create_token(uow.session, principal, body, uow.clock())
    uow.record(
        "token.create", "token", created.id, Token.model_validate(created.model_dump(exclude={"token"}))
    )
    headers = {"Location": f"/maestro/tokens/{created.id}", "Cache-Control": "no-store"}
    return json_response(created, 201, headers)


@router.get("/maestro/tokens", response_model=list[Token])
def list_tokens(
    uow: UowDep,
    principal: CurrentPrincipal,
    tenant_id: Annotated[
        str | None, Query(max_length=64, pattern=TENANT_ID_PATTERN, description="Only this tenant's tokens.")
    ] = None,
) -> Response:
    """Tokens, oldest first, without secrets."""
    found = tokens.list_tokens(uow.session, principal, tenant_id)
    return Response(_TOKENS.dump_json(found), 200, media_type=JSON)


@router.delete(
    "/maestro/tokens/{token_id}",
    response_model=Token,
    responses={404: _ERR, 409: {**_ERR, "description": "A token cannot revoke itself."}},
)
def revoke_token(token_id: str, uow: UowDep, principal: CurrentPrincipal) -> Response:
    """Revoke a token: its next request gets a 401. The record stays, for the audit trail."""
    revoked = tokens.revoke_token(uow.session, principal, token_id, uow.clock())
    uow.record("token.revoke", "token", revoked.id, revoked)
    return json_response(revoked)


@router.post("/maestro/tenants", status_code=201, response_model=Tenant, responses={409: _ERR, 422: _ERR})
def create_tenant(body: TenantCreate, uow: UowDep, principal: CurrentPrincipal) -> Response:
    """Create a tenant (admins of tenant ``default`` only)."""
    row = tokens.create_tenant(uow.session, principal, body, uow.clock())
    tenant = Tenant(id=row.id, name=row.name, created_at=row.created_at)
    uow.record("tenant.create", "tenant", tenant.id, tenant)
    return json_response(tenant, 201, {"Location": f"/maestro/tenants/{tenant.id}"})


@router.get("/maestro/tenants", response_model=list[Tenant])
def list_tenants(uow: UowDep, principal: CurrentPrincipal) -> Response:
    """Every tenant, oldest first (admins of tenant ``default`` only)."""
    rows = tokens.list_tenants(uow.session, principal)
    found = [Tenant(id=r.id, name=r.name, created_at=r.created_at) for r in rows]
    return Response(_TENANTS.dump_json(found), 200, media_type=JSON)
