"""Settings: one object, read from the environment or `.env` (names as in API.md)."""

from __future__ import annotations

import importlib.util
import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "your-secret-key", "dev", "test"}
)
MIN_SECRET_LENGTH = 32
DEFAULT_CORS_ORIGINS = [
    "http://127.0.0.1:8000",
    "http://localhost:8000",
    "http://127.0.0.1:5173",
    "http://localhost:5173",
]


class SettingsError(ValueError):
    """A setting is missing or unusable; start-up stops with this message."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", validate_default=True)

    DATABASE_URL: str = "sqlite+aiosqlite:///./hireez.db"
    REDIS_URL: str = "memory://"
    SECRET_KEY: str | None = None
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=60, ge=1, le=60 * 24 * 30)
    CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_CORS_ORIGINS)
    )
    FIRST_SUPERUSER_EMAIL: str | None = None
    FIRST_SUPERUSER_PASSWORD: str | None = None

    # AI provider (everything goes through the openai SDK; `offline` is the scripted default,
    # `local` the OpenAI-compatible server of `make local-ai` at LOCAL_LLM_URL)
    LLM_PROVIDER: Literal["local", "openai", "offline"] | None = None
    OPENAI_API_KEY: str | None = None
    OPENAI_BASE_URL: str | None = None
    LLM_MODEL: str = "gpt-4o-mini"
    LOCAL_LLM_URL: str = "http://127.0.0.1:8081/v1"
    LOCAL_LLM_MODEL: str | None = None
    STT_MODEL: str = "whisper-1"
    TTS_MODEL: str = "tts-1"
    TTS_VOICE: str = "alloy"
    # Voice: `auto` = the OpenAI-compatible provider when LLM_PROVIDER is openai, else the
    # local models (faster-whisper tiny.en, piper) when installed
    STT_PROVIDER: Literal["auto", "openai", "local"] = "auto"
    TTS_PROVIDER: Literal["auto", "openai", "local"] = "auto"
    TTS_FORMAT: Literal["mp3", "opus", "wav"] = "mp3"
    VOICE_THREADS: int = Field(default=2, ge=1, le=64)
    STT_MAX_AUDIO_SEC: float = Field(default=120, gt=0, le=3600)
    AI_TIMEOUT_SEC: float = Field(default=60.0, gt=0)
    AI_MAX_RETRIES: int = Field(default=2, ge=0, le=10)
    OFFLINE_WORDS_PER_SEC: float = Field(default=12.0, ge=0)
    DEFAULT_QUESTION_COUNT: int = Field(default=5, ge=1, le=30)
    FOLLOW_UP_MAX_WORDS: int = Field(default=6, ge=0)

    EVALUATION_BACKEND: Literal["inprocess", "celery"] | None = None
    DATA_DIR: Path = Path("./data")
    MAX_RECORDING_MB: int = Field(default=500, ge=1)
    SESSION_TTL_SEC: int = Field(default=2 * 60 * 60, ge=60)

    WS_HEARTBEAT_INTERVAL_SEC: float = Field(default=30, gt=0)
    WS_HEARTBEAT_TIMEOUT_SEC: float = Field(default=60, gt=0)
    WS_MAX_RECONNECT_ATTEMPTS: int = Field(default=5, ge=0)
    WS_MAX_MESSAGE_BYTES: int = Field(default=16384, ge=64)
    WS_MAX_AUDIO_BYTES: int = Field(default=5 * 1024 * 1024, ge=1024)
    WS_RATE_LIMIT_PER_MIN: int = Field(default=30, ge=1)
    WS_TICKET_TTL_SEC: int = Field(default=30, ge=1)

    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["text", "json"] = "text"

    @field_validator("CORS_ORIGINS", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"CORS_ORIGINS is not a valid JSON list: {exc.msg}") from exc
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("CORS_ORIGINS")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not origin.startswith(("http://", "https://")):
                raise ValueError(
                    f"CORS_ORIGINS entry {origin!r} must start with http:// or https://"
                )
        return [origin.rstrip("/") for origin in value]

    @field_validator("DATABASE_URL")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @field_validator("LOCAL_LLM_URL")
    @classmethod
    def _check_local_llm_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("LOCAL_LLM_URL must be empty (no probe) or an http(s):// URL")
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _check_redis(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL must be memory:// or a redis:// URL")
        return value

    @model_validator(mode="after")
    def _check_heartbeat(self) -> Settings:
        if self.WS_HEARTBEAT_TIMEOUT_SEC <= self.WS_HEARTBEAT_INTERVAL_SEC:
            raise ValueError(
                "WS_HEARTBEAT_TIMEOUT_SEC must be larger than WS_HEARTBEAT_INTERVAL_SEC"
            )
        return self

    # -- derived ---------------------------------------------------------------------------
    @property
    def is_embedded(self) -> bool:
        """SQLite and in-process Redis: the one-machine default of `make run`."""
        return self.is_sqlite and self.redis_in_process

    @property
    def redis_in_process(self) -> bool:
        """memory://: Redis is a store inside this process (its data is this process's
        memory, and no other process can read it)."""
        return self.REDIS_URL.startswith("memory://")

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    @property
    def llm_provider(self) -> Literal["local", "openai", "offline"]:
        if self.LLM_PROVIDER is not None:
            return self.LLM_PROVIDER
        if self.OPENAI_API_KEY or self.OPENAI_BASE_URL:
            return "openai"
        if self.LOCAL_LLM_URL and _detected_local_llm.get(self.LOCAL_LLM_URL) is not None:
            return "local"
        return "offline"

    @property
    def llm_model(self) -> str:
        """The model name sent with every chat request of the active provider."""
        if self.llm_provider == "local":
            return self.LOCAL_LLM_MODEL or _detected_local_llm.get(self.LOCAL_LLM_URL) or "local"
        return self.LLM_MODEL

    @property
    def stt_provider(self) -> Literal["openai", "local"] | None:
        """Who transcribes the voice socket's audio (None: nobody can)."""
        return self._voice_provider(self.STT_PROVIDER, "faster_whisper")

    @property
    def tts_provider(self) -> Literal["openai", "local"] | None:
        """Who speaks the interviewer's turns on the voice socket (None: nobody can)."""
        return self._voice_provider(self.TTS_PROVIDER, "piper")

    def _voice_provider(
        self, chosen: Literal["auto", "openai", "local"], local_module: str
    ) -> Literal["openai", "local"] | None:
        if chosen != "auto":
            return chosen
        if self.llm_provider == "openai":
            return "openai"
        if importlib.util.find_spec(local_module) is not None:
            return "local"
        return "openai" if (self.OPENAI_API_KEY or self.OPENAI_BASE_URL) else None

    @property
    def evaluation_backend(self) -> Literal["inprocess", "celery"]:
        if self.EVALUATION_BACKEND is not None:
            return self.EVALUATION_BACKEND
        return "inprocess" if self.REDIS_URL.startswith("memory://") else "celery"

    @property
    def max_recording_bytes(self) -> int:
        return self.MAX_RECORDING_MB * 1024 * 1024

    def resolve_secret_key(self) -> str:
        """The signing key; generated once and kept in DATA_DIR in the embedded mode only."""
        key = self.SECRET_KEY
        if key is not None and key.strip().lower() not in PLACEHOLDER_SECRETS:
            if len(key) < MIN_SECRET_LENGTH:
                raise SettingsError(
                    f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters long"
                )
            return key
        if not self.is_embedded:
            raise SettingsError(
                "SECRET_KEY is missing or a placeholder; set a random value of at least "
                f"{MIN_SECRET_LENGTH} characters (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)"
            )
        path = self.DATA_DIR / "secret_key"
        if path.exists():
            stored = path.read_text().strip()
            if len(stored) >= MIN_SECRET_LENGTH:
                return stored
        path.parent.mkdir(parents=True, exist_ok=True)
        generated = secrets.token_urlsafe(48)
        path.write_text(generated)
        path.chmod(0o600)
        return generated


@lru_cache
def get_settings() -> Settings:
    return Settings()


# What the start-up probe found at each LOCAL_LLM_URL: the model it serves (app.ai.local_llm).
_detected_local_llm: dict[str, str] = {}


def set_detected_local_llm(url: str, model: str | None) -> None:
    """Record (or, with None, forget) the local model server found at `url` at start-up."""
    url = url.strip().rstrip("/")
    if model is None:
        _detected_local_llm.pop(url, None)
    else:
        _detected_local_llm[url] = model
