"""``GET /``, the offline documentation, and URLs that never come from the client's Host."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maestro import __version__
from maestro.app import create_app
from maestro.config import Settings
from maestro.db.engine import Database

EVIL = {"host": "evil.example"}


def test_root_names_the_service_and_where_to_start(client: TestClient) -> None:
    body = client.get("/").json()
    assert body["service"] == "maestro"
    assert body["version"] == __version__
    assert {"docs": "/docs", "runs": "/maestro/runs", "healthz": "/healthz"}.items() <= body["links"].items()
    for link in body["links"].values():
        assert client.get(link).status_code == 200, link


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_work_offline(client: TestClient, page: str) -> None:
    """Every URL the page loads is served by Maestro itself, and answers."""
    response = client.get(page)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
    urls += re.findall(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""", response.text)
    assert urls, response.text
    assert "//" not in " ".join(urls), urls  # no scheme, no CDN host
    assert "openapi.json" in response.text
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        if url.endswith(".js"):
            assert len(asset.content) > 100_000, url  # the real bundle, not a stub


def test_redoc_and_swagger_bundles_are_local(client: TestClient) -> None:
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert client.get(f"/docs/assets/{name}").status_code == 200
    assert client.get("/docs/assets/nope.js").status_code == 404


def test_no_third_party_assets_are_committed() -> None:
    root = Path(__file__).resolve().parents[2]
    bundled = [p for p in root.joinpath("maestro").rglob("*") if p.suffix in (".js", ".css")]
    assert bundled == []


def test_trailing_slash_is_a_redirect_with_a_body_and_a_relative_location(client: TestClient) -> None:
    response = client.get("/maestro/runs/?limit=1", headers=EVIL, follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/maestro/runs?limit=1"
    assert response.json()["error"] == "redirect"
    assert "/maestro/runs" in response.json()["detail"]
    assert client.get("/maestro/nothing/", follow_redirects=False).status_code == 404


def _page_of_runs(client: TestClient, **headers: str) -> Any:
    for _ in range(2):
        assert client.post("/maestro/runs", json={"name": "n", "owner": "o"}).status_code == 201
    return client.get("/maestro/runs?limit=1&owner=o", headers=headers)


def test_link_is_relative_and_ignores_the_host_header(client: TestClient) -> None:
    link = _page_of_runs(client, **EVIL).headers["link"]
    assert link.startswith("</maestro/runs?limit=1&owner=o&cursor=")
    assert "evil" not in link
    follow = client.get(link[1 : link.index(">")])
    assert follow.status_code == 200
    assert len(follow.json()) == 1


@pytest.fixture
def public_client(maestro_store: Database, tmp_path: Path) -> Any:
    settings = Settings(
        database_url=maestro_store.url,
        data_dir=tmp_path / "data",
        public_url="https://maestro.example.com/api",
    )
    with TestClient(create_app(settings, database=maestro_store)) as test_client:
        yield test_client


def test_public_url_makes_links_and_redirects_absolute(public_client: TestClient) -> None:
    link = _page_of_runs(public_client, **EVIL).headers["link"]
    assert link.startswith("<https://maestro.example.com/api/maestro/runs?limit=1&owner=o&cursor=")
    redirect = public_client.get("/maestro/runs/", headers=EVIL, follow_redirects=False)
    assert redirect.headers["location"] == "https://maestro.example.com/api/maestro/runs"
