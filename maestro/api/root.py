"""``GET /`` and the interactive documentation, served offline.

Swagger UI and Redoc come from the installed ``fastapi-offline`` package (its wheel
ships both bundles), not from a CDN: a server on a network without internet access
still shows its documentation, and no third-party JavaScript lives in this repository.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from maestro import __version__
from maestro.models import ServiceInfo, ServiceLinks

ASSETS = "/docs/assets"
router = APIRouter(tags=["service"])


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def _prefix(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/", response_model=ServiceInfo)
def describe_service(request: Request) -> ServiceInfo:
    """Which service answers here, and links to start from."""
    at = _prefix(request)
    return ServiceInfo(
        service="maestro",
        version=__version__,
        links=ServiceLinks(
            docs=f"{at}/docs",
            redoc=f"{at}/redoc",
            openapi=f"{at}/openapi.json",
            runs=f"{at}/maestro/runs",
            healthz=f"{at}/healthz",
            readyz=f"{at}/readyz",
        ),
    )


@router.get("/docs", include_in_schema=False)
def show_swagger_ui(request: Request) -> HTMLResponse:
    at = _prefix(request)
    return get_swagger_ui_html(
        openapi_url=f"{at}/openapi.json",
        title="Maestro API",
        swagger_js_url=f"{at}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{at}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{at}{ASSETS}/favicon.png",
        swagger_ui_parameters={"validatorUrl": None},  # its default calls validator.swagger.io
    )


@router.get("/redoc", include_in_schema=False)
def show_redoc(request: Request) -> HTMLResponse:
    at = _prefix(request)
    return get_redoc_html(
        openapi_url=f"{at}/openapi.json",
        title="Maestro API",
        redoc_js_url=f"{at}{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{at}{ASSETS}/favicon.png",
        with_google_fonts=False,
    )


def install_docs(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
    app.include_router(router)
