"""Settings: the embedded defaults of API.md, clear refusals of bad values, the secret rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.config import Settings, SettingsError

ENV_NAMES = [
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "CORS_ORIGINS",
    "LLM_PROVIDER",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "EVALUATION_BACKEND",
    "DATA_DIR",
]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no .env file around
    return monkeypatch


def test_embedded_defaults(clean_env, tmp_path):
    s = Settings()
    assert s.DATABASE_URL == "sqlite+aiosqlite:///./hireez.db"
    assert s.REDIS_URL == "memory://"
    assert s.is_embedded and s.llm_provider == "offline" and s.evaluation_backend == "inprocess"
    assert s.ACCESS_TOKEN_EXPIRE_MINUTES == 60 and s.MAX_RECORDING_MB == 500
    assert (s.WS_HEARTBEAT_INTERVAL_SEC, s.WS_HEARTBEAT_TIMEOUT_SEC) == (30, 60)
    assert (s.WS_MAX_RECONNECT_ATTEMPTS, s.WS_MAX_MESSAGE_BYTES) == (5, 16384)
    assert (s.WS_MAX_AUDIO_BYTES, s.WS_RATE_LIMIT_PER_MIN, s.WS_TICKET_TTL_SEC) == (5242880, 30, 30)
    assert "http://127.0.0.1:8000" in s.CORS_ORIGINS and "http://localhost:5173" in s.CORS_ORIGINS
    key = s.resolve_secret_key()  # generated and kept in DATA_DIR
    assert len(key) >= 32 and Settings().resolve_secret_key() == key
    assert (tmp_path / "secret_key").read_text() == key


def test_provider_and_backend_follow_the_environment(clean_env):
    clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert Settings().llm_provider == "openai"
    clean_env.setenv("LLM_PROVIDER", "offline")
    assert Settings().llm_provider == "offline"
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert Settings().evaluation_backend == "celery"


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short-but-real"])
def test_outside_embedded_mode_a_real_secret_is_required(clean_env, secret):
    clean_env.setenv("DATABASE_URL", "postgresql+asyncpg://u@127.0.0.1/x")
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    if secret is not None:
        clean_env.setenv("SECRET_KEY", secret)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings().resolve_secret_key()
    clean_env.setenv("SECRET_KEY", "x" * 40)
    assert Settings().resolve_secret_key() == "x" * 40


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must start with"),
        ("REDIS_URL", "http://x", "REDIS_URL must be"),
        ("CORS_ORIGINS", "[not json", "not a valid JSON list"),
        ("CORS_ORIGINS", '["ftp://x"]', "must start with http"),
        ("WS_HEARTBEAT_INTERVAL_SEC", "-1", "greater than 0"),
        ("WS_HEARTBEAT_TIMEOUT_SEC", "10", "larger than WS_HEARTBEAT_INTERVAL_SEC"),
        ("WS_RATE_LIMIT_PER_MIN", "lots", "valid integer"),
        ("LLM_PROVIDER", "magic", "'openai' or 'offline'"),
        ("EVALUATION_BACKEND", "cron", "'inprocess' or 'celery'"),
        ("MAX_RECORDING_MB", "0", "greater than or equal to 1"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(clean_env, name, value, message):
    clean_env.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert name in str(refused.value) or "WS_HEARTBEAT" in str(refused.value)
    assert message in str(refused.value)


def test_cors_origins_accepts_a_comma_list(clean_env):
    clean_env.setenv("CORS_ORIGINS", "https://a.example, https://b.example/")
    assert Settings().CORS_ORIGINS == ["https://a.example", "https://b.example"]
