"""FastAPI dependencies: one per service a route uses, taken from the lifespan's container, and client URLs.

A route (or the WebSocket endpoint) names only the services it uses, so a reader sees its reach in its
signature and a test can put any object with that service's methods behind it. Only `container_of` reads
`app.state.container`; every dependency below is built on it.

Every dependency is `async def`: FastAPI runs a plain `def` one in a worker thread, a thread hop per
dependency per request for what is an attribute lookup. Each takes an `HTTPConnection`, so HTTP routes and
the WebSocket endpoint resolve them alike.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from interviewai.background import BackgroundTasks
from interviewai.container import Container
from interviewai.domain.ports import BlobReader
from interviewai.observability.gauges import GaugePublisher
from interviewai.services.banks import BankService
from interviewai.services.evaluation import EvaluationService
from interviewai.services.interview import InterviewService
from interviewai.services.media import SpeechMediaService
from interviewai.services.plans import PlanService
from interviewai.services.readiness import Readiness
from interviewai.services.speech import SpeechService
from interviewai.services.transcription import SpokenAnswerService
from interviewai.services.video import AvatarService
from interviewai.settings import Settings


def container_of(connection: HTTPConnection) -> Container:
    """The container the lifespan put on the app (create_app's, or the one a test handed it)."""
    container: Container = connection.app.state.container
    return container


async def get_settings(connection: HTTPConnection) -> Settings:
    """The settings the app was built with (routes that show or check a configured value)."""
    return container_of(connection).settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_interviews(connection: HTTPConnection) -> InterviewService:
    """Sessions: start, current question, answer, status, end."""
    return container_of(connection).interviews


InterviewsDep = Annotated[InterviewService, Depends(get_interviews)]


async def get_avatar(connection: HTTPConnection) -> AvatarService:
    """The video side: whether video is on, the presenter's assets, the status report."""
    return container_of(connection).avatar


AvatarDep = Annotated[AvatarService, Depends(get_avatar)]


async def get_speech(connection: HTTPConnection) -> SpeechService:
    """The voices in failover order: their health and the voices they offer."""
    return container_of(connection).speech


SpeechDep = Annotated[SpeechService, Depends(get_speech)]


async def get_speech_media(connection: HTTPConnection) -> SpeechMediaService:
    """Question speech from the media cache (the JSON metrics read its synthesis count)."""
    return container_of(connection).speech_media


SpeechMediaDep = Annotated[SpeechMediaService, Depends(get_speech_media)]


async def get_spoken(connection: HTTPConnection) -> SpokenAnswerService:
    """Spoken answers: recognition, the answer they make, and the kept recordings."""
    return container_of(connection).spoken


SpokenDep = Annotated[SpokenAnswerService, Depends(get_spoken)]


async def get_evaluations(connection: HTTPConnection) -> EvaluationService:
    """Feedback on answers and the session's report."""
    return container_of(connection).evaluations


EvaluationsDep = Annotated[EvaluationService, Depends(get_evaluations)]


async def get_plans(connection: HTTPConnection) -> PlanService:
    """Interview plans for a role or a job ad."""
    return container_of(connection).plans


PlansDep = Annotated[PlanService, Depends(get_plans)]


async def get_banks(connection: HTTPConnection) -> BankService:
    """Custom question banks."""
    return container_of(connection).banks


BanksDep = Annotated[BankService, Depends(get_banks)]


async def get_readiness(connection: HTTPConnection) -> Readiness:
    """The readiness checks (store, blobs, broker, redis)."""
    return container_of(connection).readiness


ReadinessDep = Annotated[Readiness, Depends(get_readiness)]


async def get_gauges(connection: HTTPConnection) -> GaugePublisher:
    """The state gauges, published before a Prometheus scrape is answered."""
    return container_of(connection).gauges


GaugesDep = Annotated[GaugePublisher, Depends(get_gauges)]


async def get_tasks(connection: HTTPConnection) -> BackgroundTasks:
    """The app's task registry: a WebSocket's tasks are owned there, so the lifespan cancels them."""
    return container_of(connection).tasks


TasksDep = Annotated[BackgroundTasks, Depends(get_tasks)]


async def get_media(connection: HTTPConnection) -> BlobReader:
    """Stored media read for serving: question audio, clips, presenter assets, kept recordings."""
    return container_of(connection).blobs


MediaDep = Annotated[BlobReader, Depends(get_media)]


async def get_packaged_media(connection: HTTPConnection) -> BlobReader:
    """Media shipped in the package (the avatar image), served like the stored media."""
    return container_of(connection).packaged_media


PackagedMediaDep = Annotated[BlobReader, Depends(get_packaged_media)]


class UrlBuilder:
    """Absolute URLs (mobile players need them), from PUBLIC_BASE_URL or the request's own base."""

    def __init__(self, base: str) -> None:
        self._base = base.rstrip("/")

    def __call__(self, path: str) -> str:
        """The absolute URL of `path`, which starts with `/`."""
        return self._base + path

    def avatar_image(self) -> str:
        """The absolute URL of our own drawn avatar (shown when the presenter has no picture)."""
        return self("/api/v1/media/avatar.png")

    def media(self, blob_name: str) -> str:
        """The absolute URL of a blob the media routes serve (`audio/<key>.mp3`, ...)."""
        return self(f"/api/v1/media/{blob_name}")


def urls_for(connection: HTTPConnection, public_base_url: str) -> UrlBuilder:
    """Absolute http(s) URLs for media: PUBLIC_BASE_URL, else the connection's base (a WebSocket's ws://
    or wss:// base becomes http:// or https://, where the media is served)."""
    if public_base_url:
        return UrlBuilder(public_base_url)
    base = str(connection.base_url)
    if connection.scope["type"] == "websocket":
        scheme, separator, rest = base.partition("://")
        base = {"ws": "http", "wss": "https"}.get(scheme, scheme) + separator + rest
    return UrlBuilder(base)


async def get_urls(connection: HTTPConnection, settings: SettingsDep) -> UrlBuilder:
    """Absolute URLs for this request's (or socket's) responses."""
    return urls_for(connection, settings.public_base_url)


UrlsDep = Annotated[UrlBuilder, Depends(get_urls)]
