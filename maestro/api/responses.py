"""JSON responses serialized by pydantic-core in one pass (no jsonable_encoder)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import Request, Response
from pydantic import BaseModel, TypeAdapter

from maestro.pagination import Cursor, PositionCursor

JSON = "application/json"
_adapters: dict[type[Any], TypeAdapter[Any]] = {}


def json_response(
    model: BaseModel, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(model.__pydantic_serializer__.to_json(model), status_code, headers, JSON)


def page_response(
    request: Request,
    items: Sequence[BaseModel],
    item_type: type[BaseModel],
    after: Cursor | PositionCursor | None,
) -> Response:
    """A JSON array; a further page is announced in ``Link: <url>; rel="next"``."""
    adapter = _adapters.get(item_type)
    if adapter is None:
        adapter = _adapters[item_type] = TypeAdapter(list[item_type])  # type: ignore[valid-type]
    return Response(adapter.dump_json(list(items)), 200, _next_link(request, after), JSON)


def stored_page_response(
    request: Request, items: Sequence[Mapping[str, Any]], after: Cursor | PositionCursor | None
) -> Response:
    """``page_response`` for items already in their wire form (JSON the server stored and
    signed over): written out as they are, never re-validated through a model."""
    return Response(orjson.dumps(list(items)), 200, _next_link(request, after), JSON)


def _next_link(request: Request, after: Cursor | PositionCursor | None) -> dict[str, str]:
    if after is None:
        return {}
    query = request.url.include_query_params(cursor=after.encode()).query
    return {"Link": f'<{public_url(request, request.url.path)}?{query}>; rel="next"'}


def public_url(request: Request, path: str) -> str:
    """``path`` as clients should use it: under ``MAESTRO_PUBLIC_URL`` when the operator
    set one, else relative. Never built from the request's ``Host`` header, which the
    client chooses (a poisoned cache or a phishing link would otherwise carry it)."""
    base = request.app.state.settings.public_url
    return f"{str(base).rstrip('/')}{path}" if base is not None else path
