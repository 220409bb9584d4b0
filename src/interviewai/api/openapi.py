"""The OpenAPI document as clients read it: readable operation ids, tags, error bodies and examples."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from interviewai.api import openapi_examples
from interviewai.api.schemas import ErrorResponse
from interviewai.api.security import OPEN_PATHS

TAGS: list[dict[str, str]] = [
    {"name": "interview", "description": "Run an interview: start it, get each question, answer, end."},
    {"name": "status", "description": "Health, presenter and voice status, bank information, counters."},
    {
        "name": "media",
        "description": "Question audio, clips and presenter assets, by content-addressed name.",
    },
    {"name": "plans", "description": "Roles and tailored question plans (what a start with options asks)."},
    {"name": "banks", "description": "Custom question banks (admin keys when `ADMIN_API_KEYS` is set)."},
]

# Every status an operation may answer with an error body, the stable codes behind it, and why.
_STATUSES: dict[int, tuple[str, tuple[str, ...]]] = {
    400: ("The body is not UTF-8, or its JSON is nested too deeply.", ("invalid_encoding", "json_too_deep")),
    401: ("API keys are on (`API_KEYS`) and the request has no valid key.", ("unauthorized",)),
    404: ("Unknown or expired session, or no such media.", ("session_not_found", "expired", "media_not_found", "not_found")),
    409: (
        "Not the current question, the session is finished, or it changed meanwhile.",
        ("wrong_question", "session_finished", "concurrent_update"),
    ),
    413: ("The body is over `MAX_REQUEST_BYTES`.", ("payload_too_large",)),
    415: ("The body is not in a media type the operation reads.", ("unsupported_media_type",)),
    416: ("The requested byte range is outside the media.", ("range_not_satisfiable",)),
    422: ("A field is missing, of the wrong type or out of range, or the body is not JSON.",
          ("validation_error", "invalid_json")),
    429: ("Rate limits are on (`RATE_LIMIT_*`) and this client is over one; see `Retry-After`.",
          ("rate_limited",)),
    500: ("An unexpected server error; it has been logged.", ("internal_error",)),
    503: ("No provider could produce the question's media, or the session store did not answer, right now;"
          " retry after `Retry-After`.", ("provider_unavailable", "store_unavailable")),
}  # fmt: skip
# Statuses any /api/v1 operation may give, whatever it does; health checks skip the first two.
_GUARD_STATUSES = (401, 429)
_ANY_STATUSES = (500,)
_CAMEL_BREAK = re.compile(r"[_\W]+")
# A route's own description names its codes in backticks: `(`bank_not_found`)` or known codes.
_CODE = re.compile(r"`([a-z][a-z_]*)`")
_CODE_SHAPE = re.compile(
    r"^(invalid|unsupported|unreadable|no)_|_(not_found|too_long|too_large|in_use|exists)$"
)
_CODE_IN_PARENS = re.compile(r"\(`([a-z][a-z_]*)`\)")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the `{detail, code}` body and an example per code."""
    return {status: _error_response(status) for status in statuses}


def _error_response(status: int) -> dict[str, Any]:
    description, codes = _STATUSES[status]
    listed = ", ".join(f"`{code}`" for code in codes)
    return {
        "model": ErrorResponse,
        "description": f"{description} Codes: {listed}.",
        "content": {
            "application/json": {
                "examples": {
                    code: {"value": openapi_examples.error_example(code).model_dump(mode="json")}
                    for code in codes
                }
            }
        },
    }


def camel_case_operation_id(route: APIRoute) -> str:
    """The operation id of a route that names none: its function's name in camelCase (`list_plans` ->
    `listPlans`), never FastAPI's path-and-method mash."""
    first, *rest = (part for part in _CAMEL_BREAK.split(route.name) if part)
    return first[0].lower() + first[1:] + "".join(part[0].upper() + part[1:] for part in rest)


def install_openapi(app: FastAPI) -> None:
    """Give `app` the finished document; create it with `generate_unique_id_function=camel_case_operation_id`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _finish(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _finish(schema: dict[str, Any]) -> dict[str, Any]:  # noqa: C901 - a flat list of edits to the generated schema, in order
    schema["tags"] = TAGS
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = {"$ref": "#/components/schemas/ErrorResponse"}
    components.setdefault("ErrorResponse", ErrorResponse.model_json_schema())
    for path, methods in schema.get("paths", {}).items():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            guarded = path.startswith("/api/v1") and path.rstrip("/") not in OPEN_PATHS
            # The body guard answers 400 for JSON that is not UTF-8 or too deep, before any route runs.
            json_body = "application/json" in operation.get("requestBody", {}).get("content", {})
            for status in (
                *(_GUARD_STATUSES if guarded else ()),
                *_ANY_STATUSES,
                *((400,) if json_body else ()),
            ):
                responses.setdefault(str(status), _documented(status, error_schema))
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    _complete_error(response, int(status), error_schema)
            # FastAPI documents its own 422 body; ours is `{detail, code}` like every other error. It adds
            # one to every route with parameters, even when they are plain path strings that cannot fail.
            if "422" in responses and "HTTPValidationError" in str(responses["422"]):
                if _can_fail_validation(operation):
                    responses["422"] = _documented(422, error_schema)
                else:
                    del responses["422"]
    if "#/components/schemas/HTTPValidationError" not in json.dumps(schema["paths"]):
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
    for name, example in openapi_examples.model_examples().items():
        for variant in (name, f"{name}-Input", f"{name}-Output"):
            if variant in components:
                components[variant]["examples"] = [example]
    _require_discriminators(schema, components)
    _add_links(schema)
    return schema


# OpenAPI links: what a started session's id and a served question's id feed into, for clients and for
# the stateful run of tests/test_schemathesis.py.
_SESSION = {"session_id": "$response.body#/session_id"}
_SAME_SESSION = {"session_id": "$request.path.session_id"}
_LINKS: dict[str, dict[str, dict[str, Any]]] = {
    "startInterview": {
        "GetQuestion": {"operationId": "getQuestion", "parameters": _SESSION},
        "SubmitAnswer": {"operationId": "submitAnswer", "parameters": _SESSION},
        "GetStatus": {"operationId": "getStatus", "parameters": _SESSION},
        "GetReport": {"operationId": "interviewReport", "parameters": _SESSION},
    },
    "getQuestion": {
        "SubmitAnswer": {
            "operationId": "submitAnswer",
            "parameters": _SAME_SESSION,
            "requestBody": {"question_id": "$response.body#/question_id", "answer_text": "An answer."},
        },
    },
}


def _add_links(schema: dict[str, Any]) -> None:
    operations = {
        operation.get("operationId"): operation
        for methods in schema.get("paths", {}).values()
        for operation in methods.values()
    }
    for source, links in _LINKS.items():
        if source in operations and all(link["operationId"] in operations for link in links.values()):
            operations[source]["responses"]["200"]["links"] = links


def _complete_error(response: dict[str, Any], status: int, error_schema: dict[str, Any]) -> None:
    """An error a route lists in its own words still gets our body, its codes and their examples: the
    codes it names in backticks, else the usual ones for its status."""
    media = response.setdefault("content", {}).setdefault("application/json", {})
    media["schema"] = error_schema
    description = response.get("description", "")
    known = {code for _d, listed in _STATUSES.values() for code in listed} | set(
        openapi_examples.ERROR_DETAILS
    )
    codes = [
        code for code in _CODE.findall(description) if code in known or _CODE_SHAPE.search(code)
    ] or _CODE_IN_PARENS.findall(description)
    if not codes and status in _STATUSES:
        codes = list(_STATUSES[status][1])
        listed = ", ".join(f"`{code}`" for code in codes)
        response["description"] = f"{description.rstrip('.')}. Codes: {listed}."
    media.setdefault(
        "examples",
        {code: {"value": openapi_examples.error_example(code).model_dump(mode="json")} for code in codes},
    )


def _can_fail_validation(operation: dict[str, Any]) -> bool:
    if "requestBody" in operation:
        return True
    return any(
        parameter["in"] != "path"
        or set(parameter.get("schema", {})) - {"type", "title"}
        or parameter["schema"].get("type") != "string"
        for parameter in operation.get("parameters", [])
    )


def _documented(status: int, error_schema: dict[str, Any]) -> dict[str, Any]:
    entry = _error_response(status)
    content = entry["content"]["application/json"]
    return {
        "description": entry["description"],
        "content": {"application/json": {"schema": error_schema, **content}},
    }


def schema_nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object inside `node`, depth first (the document's schemas, wherever they sit)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from schema_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_nodes(value)


def _require_discriminators(schema: dict[str, Any], components: dict[str, Any]) -> None:
    """Each member of a discriminated union must name its tag as required (OpenAPI's rule for discriminators);
    pydantic leaves out fields that have a default, like `type: "question"`."""
    for node in schema_nodes(schema):
        discriminator = node.get("discriminator")
        if not isinstance(discriminator, dict):
            continue
        for target in discriminator.get("mapping", {}).values():
            member = components.get(target.rsplit("/", 1)[-1], {})
            required = member.setdefault("required", [])
            if discriminator["propertyName"] not in required:
                required.insert(0, discriminator["propertyName"])
