"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from maestro.blobs.base import BlobStore
from maestro.config import Settings
from maestro.db.engine import Database
from maestro.pagination import DEFAULT_LIMIT, MAX_CURSOR_LENGTH, MAX_LIMIT, Cursor, Order, Page
from maestro.services.intelgraph import IntelGraph


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_blob_store(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_intelgraph(request: Request) -> IntelGraph | None:
    client: IntelGraph | None = request.app.state.intelgraph
    return client


def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR_LENGTH, description="Opaque; take it from the Link header."),
    ] = None,
    order: Annotated[Order, Query(description="desc: newest first.")] = Order.DESC,
) -> Page:
    return Page(limit=limit, after=Cursor.decode(cursor) if cursor else None, order=order)


DatabaseDep = Annotated[Database, Depends(get_database)]
IntelGraphDep = Annotated[IntelGraph | None, Depends(get_intelgraph)]
PageDep = Annotated[Page, Depends(get_page)]
BlobStoreDep = Annotated[BlobStore, Depends(get_blob_store)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
