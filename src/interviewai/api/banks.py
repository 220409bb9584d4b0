"""Routes for custom question banks (`/api/v1/banks`): upload, replace, read, delete; admin keys when set."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from interviewai.api.deps import BanksDep
from interviewai.api.errors import ApiError
from interviewai.api.schemas import BankModel, BanksResponse, ErrorResponse
from interviewai.api.security import ApiKeys, presented_key
from interviewai.domain.banks import BankExists
from interviewai.services.banks import BANK_ID, BankInfo

ADMIN_MESSAGE = (
    "An admin key (ADMIN_API_KEYS) is required: send 'Authorization: Bearer <key>' or 'X-API-Key'."
)
_YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"}


async def require_admin(request: Request) -> None:
    """Every bank route's guard: 401 `unauthorized` without an admin key when ADMIN_API_KEYS is set; open when
    it is not."""
    keys: ApiKeys = request.app.state.admin_keys
    if keys.enabled and keys.match(presented_key(request.scope)) is None:
        raise ApiError(401, "unauthorized", ADMIN_MESSAGE)


banks_router = APIRouter(prefix="/api/v1/banks", tags=["banks"], dependencies=[Depends(require_admin)])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "ADMIN_API_KEYS is set and no admin key was sent"},
    404: {"model": ErrorResponse, "description": "No such bank (`bank_not_found`)"},
    415: {"model": ErrorResponse, "description": "Not YAML or JSON (`unsupported_media_type`)"},
    422: {
        "model": ErrorResponse,
        "description": "`invalid_bank`: `detail` lists every problem with its line",
    },
}
_CREATE_ERRORS = {**_ERRORS, 409: {"model": ErrorResponse, "description": "The id is taken (`bank_exists`)"}}
_DELETE_ERRORS = {
    **_ERRORS,
    409: {"model": ErrorResponse, "description": "Sessions started from it are active (`bank_in_use`)"},
}
# The id rule goes into the document only: the service checks it and answers 422 `invalid_bank` naming
# the field, the same answer whichever route the id came through.
_ID_RULE = {"pattern": BANK_ID.pattern, "minLength": 1, "maxLength": 64}
BankIdPath = Annotated[str, Path(json_schema_extra=_ID_RULE)]
_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


def _model(info: BankInfo) -> BankModel:
    stored, bank = info.stored, info.bank
    return BankModel(
        bank_id=stored.id,
        version=stored.version,
        name=stored.name,
        format=stored.format,
        question_count=len(bank),
        question_types=bank.question_types,
        roles=[r.id for r in bank.roles],
        created_at=_iso(stored.created_at),
        updated_at=_iso(stored.updated_at),
    )


async def _upload(request: Request) -> tuple[bytes, str]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        kind = "json"
    elif media_type in _YAML_TYPES:
        kind = "yaml"
    else:
        raise ApiError(
            415, "unsupported_media_type", "Send the bank as application/yaml or application/json."
        )
    return await request.body(), kind


@banks_router.get("", response_model=BanksResponse, responses=_ERRORS)
async def list_banks(banks: BanksDep) -> BanksResponse:
    """Every custom bank at its current version, without its document (GET one bank for that)."""
    return BanksResponse(banks=[_model(info) for info in await banks.list()])


@banks_router.get("/{bank_id}", response_model=BankModel, responses=_ERRORS)
async def get_bank(bank_id: str, banks: BanksDep) -> BankModel:
    """The bank's summary and, in `content`, the document as uploaded."""
    info = await banks.get(bank_id)
    return _model(info).model_copy(update={"content": info.stored.content})


@banks_router.post(
    "", response_model=BankModel, status_code=201, responses=_CREATE_ERRORS, openapi_extra=_UPLOAD
)
async def create_bank(
    request: Request,
    banks: BanksDep,
    bank_id: Annotated[
        str | None,
        Query(description="The new bank's id; one is made up if omitted.", json_schema_extra=_ID_RULE),
    ] = None,
) -> BankModel:
    """Upload a new bank as YAML or JSON; it is checked whole before it is stored (422 `invalid_bank` lists
    every problem). An id that is taken is 409 `bank_exists`: replace that bank with PUT."""
    content, kind = await _upload(request)
    new_id = bank_id or "bank-" + secrets.token_hex(4)
    if await banks.exists(new_id):
        raise BankExists(f"Bank {new_id!r} exists; replace it with PUT /api/v1/banks/{new_id}.")
    return _model(await banks.put(new_id, content, kind))


@banks_router.put("/{bank_id}", response_model=BankModel, responses=_ERRORS, openapi_extra=_UPLOAD)
async def replace_bank(bank_id: BankIdPath, request: Request, banks: BanksDep) -> BankModel:
    """Create or replace; the version goes up by one and running sessions keep the version they started with."""
    content, kind = await _upload(request)
    return _model(await banks.put(bank_id, content, kind))


@banks_router.delete("/{bank_id}", status_code=204, responses=_DELETE_ERRORS)
async def delete_bank(bank_id: str, banks: BanksDep) -> Response:
    """Refused with 409 `bank_in_use` while active sessions were started from it."""
    await banks.delete(bank_id)
    return Response(status_code=204)
