"""D-ID's answers before a handler runs: the key check, the faults that answer for the API, the envelopes."""

from __future__ import annotations

import base64
import hmac
import json
import math
from typing import Any

from aiohttp import web

from interviewai.simulators.did.spec import GATEWAY_PAGES, DidFault


def is_api(path: str) -> bool:
    """D-ID's API, as opposed to its links (S3, CDN) and the simulator's own controls."""
    return not path.startswith(("/s3/", "/cdn/", "/_simulator/"))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    """A compact JSON answer (UTF-8, application/json) with `status` and any extra headers."""
    return web.Response(
        status=status,
        text=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def error_response(status: int, kind: str, description: str, details: Any = None) -> web.Response:
    """D-ID's error envelope: ``{"kind", "description"[, "details"]}``."""
    body: dict[str, Any] = {"kind": kind, "description": description}
    if details is not None:
        body["details"] = details
    return json_response(status, body)


def gateway_page(status: int) -> web.Response:
    """A load balancer's HTML page (502, 504)."""
    return web.Response(status=status, text=GATEWAY_PAGES[status], content_type="text/html")


def authorized(header: str | None, api_key: str) -> bool:
    """``Basic <key as given>`` or ``Basic base64(key)``."""
    scheme, _, credentials = (header or "").strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "basic" or not credentials:
        return False
    if hmac.compare_digest(credentials.encode(), api_key.encode()):
        return True
    try:
        decoded = base64.b64decode(credentials, validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(decoded, api_key.encode())


def fault_answer(fault: DidFault, request: web.Request, retry_after_s: float) -> web.Response | None:
    """What a request fault answers instead of the API; None for ``timeout`` (nothing is answered)."""
    if fault is DidFault.AUTH_401:
        return error_response(401, "AuthorizationError", "user unauthenticated")
    if fault is DidFault.AUTH_401_GATEWAY:
        return json_response(401, {"message": "Unauthorized"})
    if fault is DidFault.FORBIDDEN_403:
        resource = request.path.strip("/").split("/", 1)[0]
        access = "read" if request.method == "GET" else "write"
        return error_response(403, "PermissionError", f"user has no permission for {resource}:{access}")
    if fault is DidFault.FORBIDDEN_403_DENY:
        return json_response(
            403, {"Message": "User is not authorized to access this resource with an explicit deny"}
        )
    if fault in (DidFault.RATE_LIMIT_429, DidFault.RATE_LIMIT_429_BARE):
        headers = None
        if fault is DidFault.RATE_LIMIT_429:
            headers = {"Retry-After": str(max(0, math.ceil(retry_after_s)))}
        return json_response(429, {"message": "Too Many Requests"}, headers=headers)
    if fault is DidFault.SERVER_500:
        return error_response(500, "InternalServerError", "internal server error")
    if fault in (DidFault.GATEWAY_502, DidFault.GATEWAY_504):
        return gateway_page(502 if fault is DidFault.GATEWAY_502 else 504)
    return None


def malformed(response: web.Response) -> web.Response:
    """The same status with the JSON cut in half (the ``malformed`` fault)."""
    body = response.body if isinstance(response.body, bytes) else b"{}"
    return web.Response(status=response.status, body=body[: len(body) // 2], content_type="application/json")
