"""Routes for interview plans: the roles the library covers, and a preview of the plan a start would make."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from interviewai.api.deps import PlansDep
from interviewai.api.schemas import (
    ErrorResponse,
    PlannedQuestionModel,
    PlanResponse,
    RoleModel,
    RolesResponse,
    StartOptions,
)
from interviewai.domain.plans import Plan
from interviewai.services.plans import RoleInfo

plans_router = APIRouter(prefix="/api/v1", tags=["plans"])

PLAN_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {
        "model": ErrorResponse,
        "description": "`job_description` over 10,000 characters (`payload_too_large`)",
    },
    422: {
        "model": ErrorResponse,
        "description": "Unknown field, role, bank or seniority, or `num_questions` out of 3-20 (`validation_error`)",
    },
}


def role_models(roles: list[RoleInfo]) -> list[RoleModel]:
    """The roles as the roles endpoint and the interview info list them."""
    return [
        RoleModel(id=r.id, name=r.name, question_count=r.question_count, seniorities=list(r.seniorities))
        for r in roles
    ]


def plan_response(plan: Plan) -> PlanResponse:
    """A plan as the preview returns it, each question with why it was chosen."""
    return PlanResponse(
        questions=[
            PlannedQuestionModel(
                question_id=p.question.id,
                question_text=p.question.text,
                question_type=p.question.type.value,
                why=p.why,
            )
            for p in plan.questions
        ],
        total_questions=len(plan.questions),
        seed=plan.seed,
        role=plan.role,
        skills=list(plan.skills),
        bank_id=plan.bank_id,
        bank_version=plan.bank_version,
        notes=list(plan.notes),
    )


@plans_router.get("/roles", response_model=RolesResponse)
async def list_roles(plans: PlansDep) -> RolesResponse:
    """The library's roles, with how many questions each has and the levels they cover."""
    return RolesResponse(roles=role_models(plans.roles()))


@plans_router.post("/interview/plan", response_model=PlanResponse, responses=PLAN_ERRORS)
async def preview_plan(
    plans: PlansDep, options: Annotated[StartOptions | None, Body()] = None
) -> PlanResponse:
    """The plan `POST /interview/start` makes for the same options; pass its `seed` back to get exactly it."""
    return plan_response(await plans.plan((options or StartOptions()).plan_request()))
