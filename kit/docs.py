"""API documentation that opens on a closed network (LGWAN): Swagger UI and ReDoc from the service.

FastAPI's own /docs and /redoc load their scripts from a public CDN, a blank page where there is
no internet. The assets come from the `fastapi-offline` package (pinned; it ships Swagger UI and
ReDoc under their licences) and are served at /docs-assets by every service.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
_PREFIX = "/docs-assets"


def install(app: FastAPI) -> None:
    """Call on an app built with docs_url=None and redoc_url=None."""
    app.mount(_PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=title,
            swagger_js_url=f"{_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{_PREFIX}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=title,
                              redoc_js_url=f"{_PREFIX}/redoc.standalone.js",
                              redoc_favicon_url=f"{_PREFIX}/favicon.png", with_google_fonts=False)
