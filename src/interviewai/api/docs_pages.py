"""Swagger UI at /docs and ReDoc at /redoc from assets shipped in a package, so they work offline."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles

# fastapi-offline ships swagger-ui-dist's bundle and CSS and ReDoc's standalone bundle as package data;
# we only serve its files (our app factory builds FastAPI itself).
ASSETS_URL = "/docs-assets"
ASSETS_PACKAGE = ("fastapi_offline", "static")
# Swagger UI's page is a packaged file that starts it from web/docs/swagger-init.js, not an inline script.
SWAGGER_PAGE = resources.files("interviewai") / "web" / "docs" / "swagger.html"
# The pages may load only what we serve: ReDoc's side menu links a logo on its vendor's CDN, and without
# this the browser would try to fetch it. Scripts are first-party files only; both libraries style their
# components from script, and ReDoc runs its search in a blob worker.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def install_docs_pages(app: FastAPI) -> None:
    """Serve the docs pages; create the app with `docs_url=None, redoc_url=None` so FastAPI's CDN ones go."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_URL, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")

    async def swagger_ui() -> FileResponse:
        # Relative URLs in the page and its script keep working under a root_path.
        return FileResponse(
            str(SWAGGER_PAGE), media_type="text/html", headers={"Content-Security-Policy": DOCS_CSP}
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{request.app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            # Fonts from a CDN would make the page wait on the internet; the system's fonts do.
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    # No OAuth2 redirect page: the API has no OAuth2 scheme (keys are plain headers).
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
