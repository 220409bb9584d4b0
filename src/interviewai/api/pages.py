"""The web client's page and the security headers every response, and every HTML page, is served with."""

from __future__ import annotations

from importlib import resources
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.datastructures import MutableHeaders
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WEB_CLIENT = resources.files("interviewai") / "web"
# Every response: no MIME sniffing, no referrer leaking session ids in URLs to other hosts.
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


def web_client_policy(public_base_url: str = "") -> str:
    """The web client's CSP: its own scripts and styles only; media and sockets from here (or PUBLIC_BASE_URL)."""
    extra = ""
    if public_base_url:
        parts = urlsplit(public_base_url)
        extra = f" {parts.scheme}://{parts.netloc}"
    return _policy(
        {
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            # data: is the audio fallback when a question comes without `audio_url`.
            "img-src": "'self' data:" + extra,
            "media-src": "'self' data: blob:" + extra,
            "connect-src": "'self'" + extra,
            "object-src": "'none'",
            "base-uri": "'none'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        }
    )


class SecurityHeaders:
    """Adds nosniff and Referrer-Policy to every response, and a CSP and X-Frame-Options to HTML pages."""

    def __init__(self, app: ASGIApp, public_base_url: str = "") -> None:
        self.app = app
        self.web_policy = web_client_policy(public_base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Adds to each HTTP response the headers it does not set itself (a page with its own CSP keeps it);
        other scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.web_policy

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON_HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    # Pages with their own policy (the docs, api/docs_pages.py) keep it.
                    headers.setdefault("Content-Security-Policy", policy)
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def web_client_page() -> FileResponse:
    """The web client's page (served at `/`, outside the API document)."""
    return FileResponse(str(WEB_CLIENT / "index.html"), media_type="text/html")


def install_web_client(app: FastAPI) -> None:
    """The web client: its page at `/`, its scripts and styles under /web (the API keeps its own 404s)."""
    app.mount("/web", StaticFiles(packages=[("interviewai", "web")]), name="web")
    app.add_api_route("/", web_client_page, methods=["GET", "HEAD"], include_in_schema=False)
