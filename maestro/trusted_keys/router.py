"""/maestro/trusted-keys: public keys DSSE signatures are verified against."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import TypeAdapter

from maestro.api.deps import UowDep
from maestro.api.responses import JSON, json_response
from maestro.models import ErrorBody, TrustedKeyCreate, TrustedKeyInfo
from maestro.trusted_keys import service as key_service

router = APIRouter(prefix="/maestro/trusted-keys", tags=["trusted keys"])
_KEYS = TypeAdapter(list[TrustedKeyInfo])


@router.post(
    "",
    status_code=201,
    response_model=TrustedKeyInfo,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def add_trusted_key(body: TrustedKeyCreate, uow: UowDep) -> Response:
    key = key_service.add_key(uow, body)
    return json_response(key, 201, {"Location": f"/maestro/trusted-keys/{key.id}"})


@router.get("", response_model=list[TrustedKeyInfo])
def list_trusted_keys(uow: UowDep) -> Response:
    keys = key_service.list_keys(uow)
    return Response(_KEYS.dump_json(keys), 200, media_type=JSON)


@router.get("/{key_id}", response_model=TrustedKeyInfo, responses={404: {"model": ErrorBody}})
def get_trusted_key(key_id: str, uow: UowDep) -> Response:
    key = key_service.get_key(uow, key_id)
    return json_response(key)


@router.delete("/{key_id}", status_code=204, responses={404: {"model": ErrorBody}})
def delete_trusted_key(key_id: str, uow: UowDep) -> Response:
    """Stop trusting a key. Evidence verified earlier keeps its recorded verdict."""
    key_service.delete_key(uow, key_id)
    return Response(status_code=204)
