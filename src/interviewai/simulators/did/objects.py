"""The D-ID simulator's object store: result videos and audios behind S3-like presigned links.

Links look like S3's (``/s3/<bucket>/<key>?AWSAccessKeyId&Expires&Signature``, the signature an HMAC of
the bucket, key and expiry with a key made at start) and fail like S3: 403 XML ``AccessDenied`` /
``Request has expired`` after ``Expires``, 403 ``SignatureDoesNotMatch`` for a wrong signature, 404
``NoSuchKey`` for a deleted object.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import math
import secrets
import time
from datetime import datetime, timezone
from urllib.parse import quote

from aiohttp import web

from interviewai.simulators.did.spec import ACCESS_KEY_ID


@dataclasses.dataclass(frozen=True)
class StoredObject:
    """An object's bytes and type; the ETag is S3's (the MD5 of the bytes, quoted)."""

    data: bytes
    content_type: str

    @property
    def etag(self) -> str:
        """S3's ETag of the object: the quoted MD5 hex digest of its bytes."""
        return '"' + hashlib.md5(self.data, usedforsecurity=False).hexdigest() + '"'


class ObjectStore:
    """Objects by (bucket, key), handed out as presigned links and served back only with a valid one."""

    def __init__(self) -> None:
        self._signing_key = secrets.token_bytes(32)
        self._objects: dict[tuple[str, str], StoredObject] = {}

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """Store (or replace) an object."""
        self._objects[(bucket, key)] = StoredObject(data, content_type)

    def get(self, bucket: str, key: str) -> StoredObject | None:
        """The object, None when there is none."""
        return self._objects.get((bucket, key))

    def delete(self, bucket: str, key: str) -> None:
        """Remove an object; a missing one is not an error."""
        self._objects.pop((bucket, key), None)

    def signed_url(self, base_url: str, bucket: str, key: str, expires: float) -> str:
        """A presigned link to an object under ``base_url``, valid until ``expires`` (epoch seconds)."""
        expires_at = math.ceil(expires)
        query = (
            f"AWSAccessKeyId={ACCESS_KEY_ID}&Expires={expires_at}"
            f"&Signature={quote(self._signature(bucket, key, expires_at), safe='')}"
        )
        return f"{base_url}/s3/{bucket}/{quote(key, safe='/@')}?{query}"

    async def handle_get(self, request: web.Request) -> web.Response:
        """``GET /s3/{bucket}/{key}``: the object, if the link's signature holds and has not expired."""
        bucket, key = request.match_info["bucket"], request.match_info["key"]
        expires_text = request.query.get("Expires", "")
        signature = request.query.get("Signature", "")
        if not expires_text.isdigit() or not signature or "AWSAccessKeyId" not in request.query:
            return s3_error(
                403,
                "AccessDenied",
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
            )
        expires = int(expires_text)
        if not hmac.compare_digest(signature, self._signature(bucket, key, expires)):
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
            )
        now = time.time()
        if now > expires:
            return s3_error(
                403,
                "AccessDenied",
                "Request has expired",
                Expires=_iso_seconds(expires),
                ServerTime=_iso_seconds(now),
            )
        stored = self.get(bucket, key)
        if stored is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        return web.Response(body=stored.data, content_type=stored.content_type, headers={"ETag": stored.etag})

    def _signature(self, bucket: str, key: str, expires: int) -> str:
        to_sign = f"GET\n\n\n{expires}\n/{bucket}/{key}".encode()
        return base64.b64encode(hmac.new(self._signing_key, to_sign, hashlib.sha1).digest()).decode()


def s3_error(status: int, code: str, message: str, **extra: str) -> web.Response:
    """S3's XML error document."""
    fields = "".join(f"<{name}>{_xml_escape(value)}</{name}>" for name, value in extra.items())
    request_id = secrets.token_hex(8).upper()
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{_xml_escape(message)}</Message>{fields}"
        f"<RequestId>{request_id}</RequestId><HostId>{base64.b64encode(secrets.token_bytes(48)).decode()}</HostId></Error>"
    )
    return web.Response(
        status=status, body=text.encode(), content_type="application/xml"
    )  # S3 sends no charset


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _iso_seconds(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
