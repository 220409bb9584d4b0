"""The composition root: picks implementations from settings and owns their lifetimes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from interviewai.observability.tracing_sdk import Tracing

from interviewai.adapters.embeddings.minilm import MiniLmEmbedder
from interviewai.adapters.evaluation.vocabulary import english_vocabulary
from interviewai.adapters.question_bank import YamlBankParser, load_packaged_bank, load_question_bank
from interviewai.adapters.queue.taskiq_queue import TaskiqJobQueue
from interviewai.adapters.speech.edge import (
    EdgeEndpoint,
    EdgeSynthesizer,
)
from interviewai.adapters.speech.piper import PiperSynthesizer
from interviewai.adapters.store.banks import SqlBankStore
from interviewai.adapters.store.evaluations import SqlEvaluationStore
from interviewai.adapters.store.media_index import SqlMediaIndex
from interviewai.adapters.store.sql import SqlSessionStore
from interviewai.background import BackgroundTasks
from interviewai.domain.jobs import JOBS
from interviewai.domain.ports import (
    AnswerEvaluator,
    BlobReader,
    BlobStore,
    ChatModel,
    Embedder,
    FollowUpChooser,
    HealthBoard,
    SpeechRecognizer,
)
from interviewai.domain.questions import InvalidQuestionBank, QuestionBank
from interviewai.domain.speech import VoiceSettings
from interviewai.observability import metrics
from interviewai.observability.gauges import GaugePublisher
from interviewai.providers import (
    build_avatar_renderer,
    build_chat_model,
    build_speech_service,
    build_tracing,
    open_blob_store,
    open_spoken_answers,
    packaged_media_reader,
)
from interviewai.services.banks import BankService
from interviewai.services.evaluation import EvaluationService
from interviewai.services.interview import InterviewService
from interviewai.services.llm_evaluator import LlmEvaluator
from interviewai.services.llm_follow_ups import LlmFollowUpChooser
from interviewai.services.media import SpeechMediaService
from interviewai.services.plans import PlanService
from interviewai.services.question_writer import QuestionWriter
from interviewai.services.readiness import Check, Readiness
from interviewai.services.rubric_evaluator import RubricEvaluator
from interviewai.services.shared_health import SharedHealth
from interviewai.services.single_flight import SingleFlight, new_owner_id
from interviewai.services.speech import SpeechService
from interviewai.services.transcription import SpokenAnswerService
from interviewai.services.video import AvatarService, AvatarSettings
from interviewai.settings import Settings, SettingsError
from interviewai.startup import check_directories, check_redis, open_database

logger = logging.getLogger(__name__)
# How quickly instances learn that another one found a provider down (or back up).
HEALTH_SYNC_INTERVAL_S = 1.0
# A name no blob has: asking whether it exists is the blob store's cheapest answer.
READINESS_PROBE = "readiness/probe.txt"
# How fresh the state gauges of a process are when another process of the machine answers the scrape.
GAUGE_PUBLISH_INTERVAL_S = 5.0


def check_configuration(settings: Settings) -> QuestionBank:
    """Everything about the settings that can be checked without starting: the bank and the Edge voice.

    Raises SettingsError naming the variable, so `interviewai serve` stops with one clear message.
    """
    try:
        bank = load_question_bank(settings.question_bank)
    except InvalidQuestionBank as error:
        # One line, whatever the bank's loader listed (a start-up failure is read in a log line).
        problems = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
        raise SettingsError(f"Invalid configuration: QUESTION_BANK: {problems}") from None
    if "edge" in settings.engine_order:
        edge_settings = VoiceSettings(
            settings.tts_voice, settings.tts_rate, settings.tts_volume, settings.tts_pitch
        )
        try:
            EdgeSynthesizer.validate(edge_settings)
        except ValueError as error:
            raise SettingsError(f"Invalid configuration: TTS_VOICE: {error}") from None
        try:
            EdgeEndpoint.parse(settings.edge_tts_url)
        except ValueError as error:
            raise SettingsError(f"Invalid configuration: EDGE_TTS_URL: {error}") from None
    return bank


def load_library(settings: Settings) -> QuestionBank | None:
    """The library plans draw from (QUESTION_LIBRARY, else the packaged one); None if there is none."""
    try:
        if settings.question_library is not None:
            return load_question_bank(settings.question_library)
        return load_packaged_bank("library.yaml")
    except InvalidQuestionBank as error:
        raise SettingsError(f"Invalid configuration:\n  QUESTION_LIBRARY: {error}") from None


@dataclass
class Container:
    """Every service and resource of one process, built from the settings by `build_container`, which owns
    them and closes them in reverse order when its context exits; the API takes the services from it
    through api/deps.py."""

    settings: Settings
    engine: AsyncEngine
    interviews: InterviewService
    speech: SpeechService
    speech_media: SpeechMediaService
    avatar: AvatarService
    blobs: BlobStore
    tasks: BackgroundTasks
    jobs: TaskiqJobQueue
    # For the services that need sentence embeddings (evaluation, plans); loaded once per lifespan.
    embedder: Embedder
    plans: PlanService
    banks: BankService
    # Spoken answers: recognisers with failover, decoding, transcripts and recordings.
    spoken: SpokenAnswerService
    readiness: Readiness
    evaluations: EvaluationService
    gauges: GaugePublisher
    # The configured OpenAI-compatible chat model; None when LLM_API_URL is empty.
    chat_model: ChatModel | None = None
    # Media shipped in the package (the avatar image), served like the stored media.
    packaged_media: BlobReader = field(default_factory=packaged_media_reader)


def build_evaluator(
    settings: Settings, rubric: RubricEvaluator, chat_model: ChatModel | None, embedder: Embedder
) -> tuple[AnswerEvaluator, FollowUpChooser]:
    """EVALUATOR's engine and follow-up chooser: rubric alone, or the chat model with rubric behind it."""
    if settings.evaluator != "llm" or chat_model is None:
        return rubric, rubric
    return (
        LlmEvaluator(chat_model, rubric, timeout_s=settings.llm_evaluation_timeout_s),
        LlmFollowUpChooser(chat_model, rubric, embedder, timeout_s=settings.llm_follow_up_timeout_s),
    )


@contextlib.asynccontextmanager
async def build_container(
    settings: Settings,
    *,
    recognizers: Mapping[str, SpeechRecognizer] | None = None,
    tracing: Tracing | None = None,
) -> AsyncIterator[Container]:
    """Open every resource the app needs and close them in reverse order on exit (`recognizers`: speech
    recognisers built by the caller, by engine name, used instead of building them; `tracing`: the app's
    tracing pipeline, else one is made when the settings turn tracing on)."""
    bank = check_configuration(settings)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(metrics.forget_this_process)
        # First in, last out: every client opened below is traced, and their last spans are exported.
        tracing = tracing or build_tracing(settings)
        if tracing is not None:
            await stack.enter_async_context(tracing.exporting())
        check_directories(settings)
        engine = await open_database(settings)
        stack.push_async_callback(engine.dispose)
        if tracing is not None:
            tracing.instrument_engine(engine)

        piper = await PiperSynthesizer.open(
            model_dir=settings.resolved_model_dir,
            voice_name=settings.local_voice,
            parallelism=settings.synthesis_parallelism,
            intra_op_threads=settings.tts_threads_per_synthesis,
            slot_wait_s=settings.tts_slot_wait_s,
        )
        # close() waits for running syntheses, so it runs off the event loop.
        stack.push_async_callback(asyncio.to_thread, piper.close)
        speech = build_speech_service(settings, piper)
        embedder = await MiniLmEmbedder.open(
            threads=settings.embedding_threads, timeout_s=settings.embeddings_timeout_s
        )
        stack.push_async_callback(asyncio.to_thread, embedder.close)
        chat_model = build_chat_model(settings)
        if chat_model is not None:
            stack.push_async_callback(chat_model.aclose)

        blobs = await open_blob_store(settings, stack)
        store_deadline_s = 2 * settings.database_timeout_s
        index = SqlMediaIndex(engine, deadline_s=store_deadline_s)
        flights = SingleFlight(index, owner_id=new_owner_id())
        if settings.broker_url:
            await check_redis("BROKER_URL", settings.broker_url)
        jobs = (
            TaskiqJobQueue.redis(
                settings.broker_url,
                queue_name=settings.broker_queue,
                redeliver_after_s=settings.job_redeliver_after_s,
                enqueue_timeout_s=settings.job_enqueue_timeout_s,
            )
            if settings.broker_url
            else TaskiqJobQueue.in_process(enqueue_timeout_s=settings.job_enqueue_timeout_s)
        )
        await jobs.start()
        stack.push_async_callback(jobs.aclose)
        speech_media = SpeechMediaService(speech, blobs, index, flights, cache_enabled=settings.media_cache)

        renderer = build_avatar_renderer(settings)
        if renderer is not None:
            stack.push_async_callback(renderer.aclose)
        avatar = AvatarService(
            renderer,
            speech_media,
            blobs,
            index,
            flights,
            jobs,
            AvatarSettings(
                presenter_id=settings.did_presenter_id,
                use_own_audio=settings.did_use_own_audio,
                provider_voice=settings.tts_voice,
                generation_timeout_s=settings.avatar_generation_timeout_s,
                cache_enabled=settings.media_cache,
                rate_limit_pause_s=settings.did_rate_limit_pause_s,
            ),
        )
        store = SqlSessionStore(engine, deadline_s=store_deadline_s)
        rubric_evaluator = RubricEvaluator(
            embedder, await asyncio.to_thread(english_vocabulary), default_rubrics=dict(bank.rubrics)
        )
        evaluator, follow_up_chooser = build_evaluator(settings, rubric_evaluator, chat_model, embedder)
        evaluations = EvaluationService(
            SqlEvaluationStore(engine),
            store,
            evaluator,
            jobs,
            bank=bank,
            timeout_s=settings.evaluation_timeout_s,
        )
        interviews = InterviewService(
            store=store,
            bank=bank,
            media=speech_media,
            avatar=avatar,
            jobs=jobs,
            session_timeout=timedelta(seconds=settings.session_timeout_s),
            video_wait_s=settings.resolved_video_wait_s,
            lookahead=settings.lookahead,
            answer_listener=evaluations,
            follow_up_chooser=follow_up_chooser,
        )
        # The services registered their jobs' handlers; an API instance and a worker build the same ones.
        jobs.ensure_handlers(JOBS.values())
        spoken = await open_spoken_answers(settings, stack, interviews, store, blobs, recognizers)
        # Closed before the job queue (registered later, so closed first): nothing new gets queued.
        shared: SharedHealth | None = None
        board: HealthBoard | None = None
        if settings.redis_url:
            from interviewai.adapters.state.redis_health import RedisHealthBoard

            # Unreachable at start is a configuration error, not a warning every second forever.
            await check_redis("REDIS_URL", settings.redis_url)
            board = RedisHealthBoard(settings.redis_url)
            stack.push_async_callback(board.aclose)
            shared = SharedHealth(board, speech, avatar)
        tasks = BackgroundTasks()
        stack.push_async_callback(tasks.aclose)
        library = load_library(settings)
        banks = BankService(
            SqlBankStore(engine, deadline_s=store_deadline_s),
            YamlBankParser(library),
            timedelta(seconds=settings.session_timeout_s),
        )
        writer = QuestionWriter(chat_model, embedder) if chat_model is not None else None
        plans = PlanService(bank, library, embedder, custom_banks=banks.resolve, writer=writer)
        if settings.plans_embed_at_start:
            tasks.spawn("embed-question-library", plans.prepare())
        if shared is not None:
            tasks.every("share-provider-health", HEALTH_SYNC_INTERVAL_S, shared.sync)
        tasks.every(
            "expire-idle-sessions", settings.session_sweep_interval_s, interviews.expire_idle_sessions
        )
        tasks.every("sweep-answer-recordings", settings.session_sweep_interval_s, spoken.sweep)
        gauges = GaugePublisher(speech, avatar, jobs.backlog)
        await gauges.publish()
        tasks.every("publish-gauges", GAUGE_PUBLISH_INTERVAL_S, gauges.publish)
        if renderer is not None:
            tasks.spawn(
                "fetch-presenter-assets", _logged(avatar.fetch_presenter_assets(), "presenter assets")
            )
            tasks.every(
                "probe-avatar-provider", settings.avatar_probe_interval_s, avatar.probe_while_disabled
            )
        checks: dict[str, Check] = {"store": store.ping, "blobs": lambda: blobs.exists(READINESS_PROBE)}
        if settings.broker_url:
            checks["broker"] = jobs.ping
        if board is not None:
            checks["redis"] = board.snapshot
        yield Container(
            settings=settings,
            engine=engine,
            interviews=interviews,
            speech=speech,
            speech_media=speech_media,
            avatar=avatar,
            blobs=blobs,
            tasks=tasks,
            jobs=jobs,
            embedder=embedder,
            chat_model=chat_model,
            plans=plans,
            banks=banks,
            spoken=spoken,
            readiness=Readiness(checks),
            evaluations=evaluations,
            gauges=gauges,
        )


async def _logged(work: Awaitable[object], what: str) -> None:
    """Background start-up work whose failure must not stop the server (the status page shows it)."""
    try:
        await work
    except Exception:
        logger.exception("could not fetch %s; will use the provider's URLs", what)
