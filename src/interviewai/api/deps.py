"""FastAPI dependencies: the container built by the lifespan, and absolute URLs for clients.

Every dependency is `async def`: FastAPI runs a plain `def` one in a worker thread, a thread hop per
dependency per request for what is a dictionary lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from interviewai.container import Container
from interviewai.services.banks import BankService
from interviewai.services.evaluation import EvaluationService
from interviewai.services.plans import PlanService


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_plans(container: ContainerDep) -> PlanService:
    return container.plans


PlansDep = Annotated[PlanService, Depends(get_plans)]


async def get_banks(container: ContainerDep) -> BankService:
    return container.banks


BanksDep = Annotated[BankService, Depends(get_banks)]


class UrlBuilder:
    """Absolute URLs (mobile players need them), from PUBLIC_BASE_URL or the request's own base."""

    def __init__(self, base: str) -> None:
        self._base = base.rstrip("/")

    def __call__(self, path: str) -> str:
        return self._base + path

    def avatar_image(self) -> str:
        return self("/api/v1/media/avatar.png")

    def media(self, blob_name: str) -> str:
        return self(f"/api/v1/media/{blob_name}")


async def get_urls(request: Request, container: ContainerDep) -> UrlBuilder:
    return UrlBuilder(container.settings.public_base_url or str(request.base_url))


UrlsDep = Annotated[UrlBuilder, Depends(get_urls)]


async def get_evaluations(container: ContainerDep) -> EvaluationService:
    return container.evaluations


EvaluationsDep = Annotated[EvaluationService, Depends(get_evaluations)]
