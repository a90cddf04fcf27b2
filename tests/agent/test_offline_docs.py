"""/docs and /redoc work without internet: their JS and CSS come from the app itself, never from a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import fastapi_offline
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from agent.api import create_app

CDNS = ("cdn.jsdelivr", "unpkg", "cdnjs", "fonts.googleapis", "http://", "https://")


class _Refs(HTMLParser):
    """Every URL the page loads: script sources, stylesheets and icons, and the spec it fetches."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        url = found.get("src") if tag == "script" else found.get("href") if tag == "link" else \
            found.get("spec-url") if tag == "redoc" else None
        if url:
            self.urls.append(url)


def referenced(page: str) -> list[str]:
    parser = _Refs()
    parser.feed(page)
    return parser.urls + re.findall(r"url: '([^']+)'", page)  # Swagger UI's spec, in its inline script


def check_offline(client: TestClient, path: str) -> list[str]:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert not any(cdn in r.text for cdn in CDNS), r.text
    urls = referenced(r.text)
    assert urls, "the page references nothing: the parser missed its scripts"
    for url in urls:
        assert url.startswith("/"), url
        answer = client.get(url)
        assert answer.status_code == 200, f"{path} references {url}: {answer.status_code}"
        assert answer.content
    return urls


def test_the_check_catches_fastapis_default_cdn_docs():
    page = TestClient(FastAPI()).get("/docs").text
    assert any(cdn in page for cdn in CDNS)
    assert any(u.startswith("https://") for u in referenced(page)) and "/openapi.json" in referenced(page)


@pytest.fixture(scope="module")
def api() -> TestClient:
    return TestClient(create_app(policy_name="ts"))


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_serves_its_docs_from_disk(api, path):
    urls = check_offline(api, path)
    assert "/openapi.json" in urls and any(u.startswith("/docs-assets/") and u.endswith(".js") for u in urls)


def test_swagger_ui_gets_its_assets_and_the_oauth2_redirect(api):
    page = api.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in page and "/docs-assets/swagger-ui.css" in page
    assert api.get("/docs-assets/swagger-ui-bundle.js").headers["content-type"].startswith("text/javascript")
    assert api.get("/docs-assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert "/docs/oauth2-redirect" in page
    redirect = api.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text.lower()
    assert api.get("/docs-assets/missing.js").status_code == 404
    assert not {"/docs", "/redoc", "/docs/oauth2-redirect"} & set(api.get("/openapi.json").json()["paths"])


def test_the_docs_are_open_while_v1_stays_guarded(monkeypatch):
    monkeypatch.delenv("PRICING_API_TOKEN", raising=False)
    client = TestClient(create_app(policy_name="ts", token="s3cret"))
    check_offline(client, "/docs")
    check_offline(client, "/redoc")
    assert client.post("/v1/recommend", json={}).status_code == 401
    assert client.post("/v1/recommend", json={}, headers={"Authorization": "Bearer s3cret"}).status_code == 422


@pytest.mark.slow
def test_the_merged_server_still_serves_the_docs_past_the_page_at_root():
    from ui.server import create_server

    client = TestClient(create_server(policy_name="ts"))
    for path in ("/docs", "/redoc"):
        check_offline(client, path)  # Gradio, mounted at `/`, does not shadow /docs-assets
    served = client.get("/docs-assets/swagger-ui-bundle.js").content  # the package's file, not Gradio's answer
    assert served == (Path(fastapi_offline.__file__).parent / "static" / "swagger-ui-bundle.js").read_bytes()
    assert client.get("/").status_code == 200 and "gradio" in client.get("/").text.lower()
