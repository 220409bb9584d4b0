"""Typed, validated settings read from the environment and `.env` (never at import time)."""

from __future__ import annotations

import enum
import ipaddress
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from interviewai.domain.avatar import CLIP_FETCH_ALLOWANCE_S
from interviewai.redaction import mask_url

_RATE_OR_VOLUME = re.compile(r"^[+-]\d+%$")
_PITCH = re.compile(r"^[+-]\d+Hz$")
KNOWN_ENGINES = ("edge", "piper")
KNOWN_STT_ENGINES = ("openai", "whisper")
MIN_API_KEY_LENGTH = 16


class AvatarMode(str, enum.Enum):
    """Whether questions come with a talking-presenter clip or as audio only."""

    VIDEO = "video"
    AUDIO_ONLY = "audio_only"


class Settings(BaseSettings):
    """Every tunable of the server; `create_app(settings)` receives one of these."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Seed variables.
    did_api_key: SecretStr = SecretStr("")
    avatar_mode: AvatarMode | None = None
    port: int = Field(8000, ge=1, le=65535)
    host: str = "0.0.0.0"
    debug: bool = False
    public_base_url: str = Field(
        "", description="Base of the URLs the API hands out; empty: the request's own"
    )
    max_request_bytes: int = Field(1_000_000, ge=1024)

    # Storage.
    data_dir: Path = Path("data")
    database_url: str = ""
    database_timeout_s: float = Field(
        5.0, gt=0, le=300, description="Deadline of one statement and of waiting for a pooled connection"
    )
    media_dir: Path | None = None
    blob_store: Literal["files", "s3"] = "files"
    s3_endpoint_url: str = ""
    s3_bucket: str = "interviewai-media"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_region: str = "us-east-1"
    question_bank: Path | None = None
    question_library: Path | None = Field(
        None, description="A bank file to plan interviews from instead of the packaged library"
    )
    plans_embed_at_start: bool = Field(
        True, description="Embed the library in the background at start (else on the first plan)"
    )
    model_dir: Path | None = Field(None, description="Where the alignment-patched voice model is kept")

    # Jobs.
    redis_url: str = Field("", description="Shared provider health for all instances; empty: each on its own")
    broker_url: str = Field("", description="redis:// URL of the job broker; empty: jobs run in-process")
    broker_queue: str = Field("interviewai:jobs", min_length=1, description="Redis stream of the jobs")
    job_enqueue_timeout_s: float = Field(
        5.0, gt=0, le=120, description="Deadline of queueing one job; a look-ahead that misses it is skipped"
    )
    job_redeliver_after_s: float = Field(
        30.0, ge=1, le=3600,
        description="A job whose worker has been silent this long is run by another worker (live workers "
        "keep their jobs fresh every third of it)",
    )  # fmt: skip

    # Speech.
    tts_engines: str = "edge,piper"
    tts_voice: str = "en-US-JennyNeural"
    local_voice: str = "en_US-joe-medium"
    tts_rate: str = "+0%"
    tts_volume: str = "+0%"
    tts_pitch: str = "+0Hz"
    tts_max_parallel: int = Field(0, ge=0, le=64, description="0 means one synthesis per CPU core")
    tts_threads_per_synthesis: int = Field(1, ge=1, le=64, description="ONNX Runtime threads per synthesis")
    edge_tts_url: str = ""
    edge_tts_timeout_s: float = Field(8.0, gt=0, le=120)
    tts_attempt_timeout_s: float = Field(
        90.0, gt=0, le=600, description="Deadline of one attempt of any speech engine, then the next one"
    )
    tts_slot_wait_s: float = Field(
        60.0, gt=0, le=600, description="Longest wait for a free offline-voice slot, then a timeout"
    )
    tts_breaker_cooldown_s: float = Field(60.0, ge=0, le=86400)

    # Speech recognition (spoken answers).
    stt_engines: str = Field(
        "", description="Engine order; empty: openai,whisper with STT_API_URL, else whisper"
    )
    stt_whisper_model: Literal["tiny.en", "base"] = "tiny.en"
    stt_beam_size: int = Field(1, ge=1, le=10, description="Whisper beam size; 1 is greedy decoding")
    stt_max_parallel: int = Field(1, ge=1, le=16, description="Recognitions at once (the rest wait)")
    stt_threads_per_recognition: int = Field(
        0, ge=0, le=64, description="CTranslate2 threads; 0: one per core"
    )
    stt_compute_type: Literal["int8", "int8_float32", "float32"] = Field(
        "int8", description="CTranslate2 compute type of the Whisper model on the CPU"
    )
    stt_encoder_window: Literal["30s", "audio"] = Field(
        "30s",
        description="Whisper's encoder over its whole 30 s window, or (audio) only over audio that ends in a pause",
    )
    stt_timeout_s: float = Field(60.0, gt=0, le=600, description="Deadline of one recognition attempt")
    stt_breaker_cooldown_s: float = Field(60.0, ge=0, le=86400)
    stt_api_url: str = Field("", description="OpenAI-compatible base URL, e.g. https://api.openai.com/v1")
    stt_api_key: SecretStr = SecretStr("")
    stt_model: str = Field("whisper-1", min_length=1, max_length=200)
    max_answer_audio_s: float = Field(300.0, gt=0, le=3600)
    max_answer_audio_bytes: int = Field(25_000_000, ge=1024, le=500_000_000)
    keep_answer_audio: bool = True
    stt_preload: bool = Field(True, description="Load the Whisper model at start (else on the first answer)")

    # Avatar video.
    did_api_url: str = "https://api.d-id.com"
    did_presenter_id: str = "v2_public_Amber@0zSz8kflCN"
    did_use_own_audio: bool = True
    did_max_parallel: int = Field(4, ge=1, le=64, description="D-ID clips rendered at once")
    avatar_generation_timeout_s: float = Field(120.0, gt=0, le=3600)
    video_wait_s: float | None = Field(
        None,
        ge=0,
        le=3600,
        description="How long a question waits for its clip; empty: the generation timeout",
    )
    avatar_probe_interval_s: float = Field(60.0, gt=0, le=86400)
    did_rate_limit_pause_s: float = Field(
        10.0, ge=0, le=3600, description="Pause after a 429 without Retry-After"
    )
    did_poll_initial_s: float = Field(1.0, gt=0, le=60, description="First delay between clip status polls")
    did_poll_max_s: float = Field(5.0, gt=0, le=300, description="Longest delay between clip status polls")

    # Media pipeline.
    media_cache: bool = True
    lookahead: bool = True

    # Sentence embeddings (answer relevance, job-ad matching).
    embeddings_threads: int = Field(0, ge=0, le=64, description="Embedding worker threads; 0: one per core")
    embeddings_timeout_s: float = Field(10.0, gt=0, le=600, description="Deadline of one embedding call")

    # An OpenAI-compatible chat model (optional; empty LLM_API_URL: none, everything works offline).
    llm_api_url: str = Field("", description="Base URL of the API, /v1 included; empty: no chat model")
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = ""
    llm_timeout_s: float = Field(20.0, gt=0, le=600, description="Default deadline of one chat request")
    llm_max_parallel: int = Field(4, ge=1, le=256, description="Chat requests in flight at once")

    # Answer feedback.
    evaluator: Literal["rubric", "llm"] = Field(
        "rubric",
        description="rubric: offline and deterministic; llm: the LLM_* chat model, rubric as fallback",
    )
    evaluation_timeout_s: float = Field(60.0, gt=0, le=600, description="Deadline of one evaluation")
    llm_evaluation_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Deadline of the chat model's judgement; past it, rubric judges"
    )
    llm_follow_up_timeout_s: float = Field(
        5.0, gt=0, le=60, description="Wait for a written follow-up (the answer waits); then a fixed phrasing"
    )

    # Sessions.
    session_timeout_s: float = Field(1800.0, gt=0)
    session_sweep_interval_s: float = Field(60.0, gt=0)
    ws_heartbeat_s: float = Field(30.0, gt=0, le=3600, description="Idle WebSocket ping interval")

    # Protections (all off by default: the seed's clients send no key and come from anywhere).
    api_keys: SecretStr = Field(SecretStr(""), description="Comma-separated keys; empty: no key needed")
    admin_api_keys: SecretStr = Field(
        SecretStr(""),
        description="Keys for /api/v1/banks (not candidates' keys); empty: banks follow API_KEYS",
    )
    rate_limit_sessions: str = Field("", description="New sessions per client, e.g. 30/minute; empty: none")
    rate_limit_requests: str = Field("", description="API requests per client, e.g. 600/minute; empty: none")
    trusted_proxies: str = Field("", description="Peers whose X-Forwarded-For is believed (IPs or CIDRs)")
    cors_origins: str = Field("", description="Browser origins allowed to call the API (comma list or *)")
    header_timeout_s: float = Field(0.0, ge=0, le=3600, description="Close connections without a full header")
    max_connections_per_client: int = Field(0, ge=0, le=100_000, description="HTTP connections per address")

    # Observability.
    metrics_token: SecretStr = Field(
        SecretStr(""), description="Bearer token /metrics requires; empty: /metrics is open"
    )
    log_format: Literal["text", "json"] = Field("text", description="text lines, or one JSON object a line")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None = Field(
        None, description="Empty: DEBUG when DEBUG=true, else INFO"
    )
    otel_exporter_otlp_endpoint: str = Field(
        "", description="OTLP/HTTP collector to send traces to (/v1/traces is added); empty: no tracing"
    )
    otel_exporter_otlp_headers: SecretStr = Field(
        SecretStr(""), description="Headers for the collector, key=value,key2=value2 (an API key, say)"
    )
    otel_service_name: str = Field("interviewai", min_length=1, description="service.name of the spans")

    @field_validator("otel_exporter_otlp_endpoint")
    @classmethod
    def _check_otlp_endpoint(cls, value: str) -> str:
        value = value.strip()
        if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).hostname):
            raise ValueError("must be an http:// or https:// URL of an OTLP/HTTP receiver, or empty")
        return value

    @property
    def tracing_enabled(self) -> bool:
        """True when OTEL_EXPORTER_OTLP_ENDPOINT is set: spans are exported there."""
        return bool(self.otel_exporter_otlp_endpoint)

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return (value.strip().lower() or "text") if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return (value.strip().upper() or None) if isinstance(value, str) else value

    @property
    def resolved_log_level(self) -> str:
        """LOG_LEVEL when set, else DEBUG with DEBUG on, else INFO."""
        return self.log_level or ("DEBUG" if self.debug else "INFO")

    @field_validator("tts_rate", "tts_volume")
    @classmethod
    def _check_percent(cls, value: str) -> str:
        if not _RATE_OR_VOLUME.match(value):
            raise ValueError("must look like +0%, +10% or -20% (a sign, whole number and %)")
        return value

    @field_validator("tts_pitch")
    @classmethod
    def _check_pitch(cls, value: str) -> str:
        if not _PITCH.match(value):
            raise ValueError("must look like +0Hz or -5Hz (a sign, whole number and Hz)")
        return value

    @field_validator("tts_engines")
    @classmethod
    def _check_engines(cls, value: str) -> str:
        engines = [e.strip() for e in value.split(",") if e.strip()]
        unknown = [e for e in engines if e not in KNOWN_ENGINES]
        if not engines or unknown:
            raise ValueError(f"must be a comma-separated list of {', '.join(KNOWN_ENGINES)}; got {value!r}")
        return ",".join(engines)

    @field_validator("stt_engines")
    @classmethod
    def _check_stt_engines(cls, value: str) -> str:
        engines = [e.strip() for e in value.split(",") if e.strip()]
        unknown = [e for e in engines if e not in KNOWN_STT_ENGINES]
        if unknown:
            raise ValueError(
                f"must be a comma-separated list of {', '.join(KNOWN_STT_ENGINES)}; got {value!r}"
            )
        return ",".join(engines)

    @field_validator("stt_api_url")
    @classmethod
    def _check_stt_api_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// base URL (ending in /v1), or empty")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _openai_needs_a_url(self) -> Settings:
        if "openai" in self.stt_engine_order and not self.stt_api_url:
            raise ValueError("STT_ENGINES with openai needs STT_API_URL")
        return self

    @field_validator("avatar_mode", "video_wait_s", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL, or empty for in-process jobs")
        return value

    @field_validator("llm_api_url")
    @classmethod
    def _check_llm_api_url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL (the API's base, /v1 included), or empty")
        return value

    @model_validator(mode="after")
    def _llm_needs_a_model(self) -> Settings:
        if self.llm_api_url and not self.llm_model:
            raise ValueError("LLM_API_URL needs LLM_MODEL (the model name the API expects)")
        return self

    @model_validator(mode="after")
    def _llm_evaluator_needs_a_model(self) -> Settings:
        if self.evaluator == "llm" and not self.llm_api_url:
            raise ValueError("EVALUATOR: EVALUATOR=llm needs LLM_API_URL and LLM_MODEL (a chat model)")
        if self.evaluator == "llm" and self.llm_evaluation_timeout_s >= self.evaluation_timeout_s:
            raise ValueError(
                "LLM_EVALUATION_TIMEOUT_S must be shorter than EVALUATION_TIMEOUT_S (the rubric fallback runs in it)"
            )
        return self

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.blob_store == "s3" and not (self.s3_endpoint_url and self.s3_bucket):
            raise ValueError("BLOB_STORE: BLOB_STORE=s3 needs S3_ENDPOINT_URL and S3_BUCKET")
        return self

    @model_validator(mode="after")
    def _video_needs_key(self) -> Settings:
        if self.avatar_mode is AvatarMode.VIDEO and not self.did_api_key.get_secret_value():
            raise ValueError(
                "AVATAR_MODE: AVATAR_MODE=video needs DID_API_KEY; set a key or use AVATAR_MODE=audio_only"
            )
        return self

    @field_validator("api_keys")
    @classmethod
    def _check_api_keys(cls, value: SecretStr) -> SecretStr:
        keys = [key.strip() for key in value.get_secret_value().split(",")]
        if any(keys) and (not all(keys) or any(len(key) < MIN_API_KEY_LENGTH for key in keys)):
            # The message never shows the keys themselves.
            raise ValueError(f"must be comma-separated keys of at least {MIN_API_KEY_LENGTH} characters each")
        return value

    @field_validator("rate_limit_sessions", "rate_limit_requests")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        from limits import parse

        if value.strip():
            try:
                parse(value)
            except ValueError:
                raise ValueError("must look like 30/minute, 600/hour or 10 per second") from None
        return value.strip()

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        for part in parts:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or CIDR network") from None
        return ",".join(parts)

    @field_validator("cors_origins")
    @classmethod
    def _check_cors_origins(cls, value: str) -> str:
        origins = [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        for origin in origins:
            parts = urlsplit(origin)
            if origin != "*" and not (parts.scheme in ("http", "https") and parts.netloc and not parts.path):
                raise ValueError(f"{origin!r} is not * or an origin like https://app.example.com")
        return ",".join(origins)

    @property
    def admin_api_key_list(self) -> list[str]:
        """ADMIN_API_KEYS as a list (comma-separated, blanks dropped); empty when none is set."""
        return [key.strip() for key in self.admin_api_keys.get_secret_value().split(",") if key.strip()]

    @property
    def api_key_list(self) -> list[str]:
        """API_KEYS as a list (comma-separated, blanks dropped); empty means no key is needed."""
        return [key.strip() for key in self.api_keys.get_secret_value().split(",") if key.strip()]

    @property
    def engine_order(self) -> list[str]:
        """TTS_ENGINES in failover order (first tried first)."""
        return self.tts_engines.split(",")

    @property
    def stt_engine_order(self) -> list[str]:
        """STT_ENGINES in failover order; by default the transcription endpoint when STT_API_URL is set, then
        local Whisper."""
        if self.stt_engines:
            return self.stt_engines.split(",")
        return ["openai", "whisper"] if self.stt_api_url else ["whisper"]

    @property
    def effective_avatar_mode(self) -> AvatarMode:
        """AVATAR_MODE when set, else video when a D-ID key is configured and audio-only without one."""
        if self.avatar_mode is not None:
            return self.avatar_mode
        return AvatarMode.VIDEO if self.did_api_key.get_secret_value() else AvatarMode.AUDIO_ONLY

    @property
    def resolved_database_url(self) -> str:
        """DATABASE_URL, else an SQLite file in DATA_DIR."""
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'interviewai.db').resolve()}"

    @property
    def resolved_media_dir(self) -> Path:
        """MEDIA_DIR (absolute), else DATA_DIR/media."""
        return (self.media_dir or self.data_dir / "media").resolve()

    @property
    def resolved_video_wait_s(self) -> float:
        """Seconds a question waits for its clip: VIDEO_WAIT_S when set, else the clip's generation timeout
        plus time to fetch it."""
        # By default a question waits as long as its clip may take, plus time to fetch the file.
        if self.video_wait_s is None:
            return self.avatar_generation_timeout_s + CLIP_FETCH_ALLOWANCE_S
        return self.video_wait_s

    @property
    def resolved_model_dir(self) -> Path:
        """MODEL_DIR (absolute), else DATA_DIR/models."""
        return (self.model_dir or self.data_dir / "models").resolve()

    @property
    def synthesis_parallelism(self) -> int:
        """How many syntheses may run at once: TTS_MAX_PARALLEL, or one per CPU core when 0."""
        return self.tts_max_parallel or (os.cpu_count() or 1)

    @property
    def embedding_threads(self) -> int:
        """Embedding worker threads: EMBEDDINGS_THREADS, or one per CPU core when 0."""
        return self.embeddings_threads or (os.cpu_count() or 1)


class SettingsError(SystemExit):
    """Raised at start when the environment holds an invalid value; names the variable."""


# Values never echoed in an error, whatever is wrong with them.
# Every SecretStr field (DID_API_KEY, API_KEYS, S3_SECRET_ACCESS_KEY, ...), and the S3 key id.
_SECRET_FIELDS = frozenset(
    {name for name, info in Settings.model_fields.items() if info.annotation is SecretStr}
    | {"s3_access_key_id"}
)


def _shown_value(field: str, value: object) -> str:
    """How a rejected value is quoted: secrets not at all, URLs with their password masked."""
    if field in _SECRET_FIELDS or not isinstance(value, str | int | float | bool):
        return ""
    text = mask_url(str(value))
    return f" (got {text[:80]!r})"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and `.env`, turning validation errors into one line that names
    each variable; no secret is ever part of it."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        parts = []
        for problem in error.errors(include_input=True):
            field = "_".join(str(part) for part in problem["loc"])
            message = str(problem["msg"]).removeprefix("Value error, ")
            if not field:
                # A cross-field check: its message names the variables; its input is every value.
                parts.append(message)
                continue
            parts.append(f"{field.upper()}: {message}{_shown_value(field, problem.get('input'))}")
        raise SettingsError("Invalid configuration: " + "; ".join(parts)) from None
