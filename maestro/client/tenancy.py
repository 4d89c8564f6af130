"""The SDK's token and tenant calls, mixed into ``MaestroClient``."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import httpx

from maestro.client.transport import Call
from maestro.client.wire import decode, decode_list
from maestro.tenancy.contract import Tenant, TenantCreate, Token, TokenCreate, TokenSecret
from maestro.tenancy.roles import Role

JSON = {"Content-Type": "application/json"}


class TenancyCalls:
    """Admin calls. Creating a token is sent once, never retried: a retry would need an
    Idempotency-Key whose recorded answer holds the secret, and the secret is kept nowhere."""

    def _send(self, call: Call) -> httpx.Response:
        raise NotImplementedError

    def create_token(
        self, *, role: Role | str, name: str, tenant_id: str = "default", expires_at: datetime | None = None
    ) -> TokenSecret:
        fields = {"tenant_id": tenant_id, "role": Role(role), "name": name}
        data = TokenCreate.model_validate({**fields, "expires_at": expires_at} if expires_at else fields)
        body = data.model_dump_json(exclude_unset=True).encode()
        response = self._send(
            Call("POST", "/maestro/tokens", headers=dict(JSON), body=lambda: body, retry=False)
        )
        return decode(TokenSecret, response.content)

    def list_tokens(self, tenant_id: str | None = None) -> list[Token]:
        params = {"tenant_id": tenant_id} if tenant_id else None
        return decode_list(Token, self._send(Call("GET", "/maestro/tokens", params=params)).content)

    def revoke_token(self, token_id: str) -> Token:
        """Revoke (repeating it is harmless: the first revocation time is kept)."""
        response = self._send(Call("DELETE", "/maestro/tokens/" + quote(token_id, safe="")))
        return decode(Token, response.content)

    def create_tenant(self, tenant_id: str, name: str) -> Tenant:
        body = TenantCreate(id=tenant_id, name=name).model_dump_json().encode()
        response = self._send(
            Call("POST", "/maestro/tenants", headers=dict(JSON), body=lambda: body, retry=False)
        )
        return decode(Tenant, response.content)

    def list_tenants(self) -> list[Tenant]:
        return decode_list(Tenant, self._send(Call("GET", "/maestro/tenants")).content)
