"""``/docs`` (Swagger UI) served offline, from assets installed with the package.

FastAPI's own ``/docs`` and ``/redoc`` load their scripts, styles and favicon from CDNs, so
they stay blank on an air-gapped host. Here ``/docs`` loads Swagger UI 5 from
``fastapi-offline`` (a dependency of the ``server`` extra), mounted under ``/docs/assets``,
and nothing is fetched from another host. ``/redoc`` is not served: ReDoc's page loads its
logo from Redocly's CDN.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "assets_directory", "install_offline_docs"]

#: Where the documentation pages' scripts and styles are served.
ASSETS_PATH = "/docs/assets"


def assets_directory() -> Path:
    """Return the installed directory holding Swagger UI's files."""
    return Path(fastapi_offline.__file__).resolve().parent / "static"


def install_offline_docs(app: FastAPI, *, title: str) -> None:
    """Add ``/docs`` and its assets to *app* (created with ``docs_url=None``)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            # No badge that asks validator.swagger.io about the schema.
            swagger_ui_parameters={"validatorUrl": None},
        )
