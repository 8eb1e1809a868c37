"""Test set-up: one run is either `embedded` (SQLite + memory://) or `real` (PostgreSQL + Redis).

HIREEZ_TEST_MODE picks the run (Makefile runs both). The real run creates a fresh database
and uses an empty Redis DB number; with CI=true an unreachable server fails the run.
The AI layer is reached through the real openai SDK against the stand-in server started here.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

MODE = os.environ.get("HIREEZ_TEST_MODE", "embedded")
PG_ADMIN_DSN = os.environ.get("HIREEZ_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("HIREEZ_TEST_REDIS", "redis://127.0.0.1:6379")
TMP = Path(tempfile.mkdtemp(prefix="hireez-test-"))
TEST_SECRET = "test-secret-" + secrets.token_hex(24)

_pg_db_name: str | None = None
REDIS_CLAIM_KEY = "hireez:test:claim"

# Two app processes sharing PostgreSQL and Redis: only the real-services run has them.
if MODE != "real":
    # these need servers shared between processes: PostgreSQL + Redis (the `real` run)
    collect_ignore_glob = [
        "test_ws_multiprocess.py",
        "test_celery_worker.py",
        "test_deploy_nginx.py",
        "test_database_pool.py",  # PostgreSQL's pool
    ]
else:  # `make run` is the embedded default by definition: the embedded run covers it
    collect_ignore_glob = ["test_make_run.py"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """collect_ignore_glob spares files found in a directory, but not files named on the
    command line (`pytest tests/test_ws_*.py`): deselect those, so a run never starts the
    tests that need the other run's servers."""
    dropped = [
        item
        for item in items
        if any(fnmatch.fnmatch(item.path.name, pattern) for pattern in collect_ignore_glob)
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.exit(f"real-services run: {reason}", returncode=3)
    pytest.exit(f"real-services run not possible here: {reason}", returncode=0)


def _pick_redis_db() -> int:
    import redis

    for db in range(1, 16):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{db}")
        try:
            if client.dbsize() == 0 and client.set(REDIS_CLAIM_KEY, "1", nx=True, ex=3600):
                return db
        finally:
            client.close()
    raise RuntimeError("no empty Redis database number left (1-15)")


def pytest_configure(config: pytest.Config) -> None:
    global _pg_db_name
    os.environ["DATA_DIR"] = str(TMP / "data")
    os.environ["SECRET_KEY"] = TEST_SECRET
    os.environ.setdefault("OFFLINE_WORDS_PER_SEC", "0")
    for name in (
        "FIRST_SUPERUSER_EMAIL",
        "FIRST_SUPERUSER_PASSWORD",
        "LLM_PROVIDER",
        "OPENAI_API_KEY",
        "EVALUATION_BACKEND",
    ):
        os.environ.pop(name, None)
    if MODE == "real":
        import asyncpg
        import redis

        async def _create() -> str:
            name = f"hireez_test_{os.getpid()}_{secrets.token_hex(3)}"
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            return name

        try:
            _pg_db_name = asyncio.run(_create())
        except (OSError, asyncpg.PostgresError) as exc:
            _fail_or_skip(f"PostgreSQL unreachable at 127.0.0.1:5432 ({exc.__class__.__name__})")
            return
        try:
            redis_db = _pick_redis_db()
        except (redis.ConnectionError, RuntimeError) as exc:
            _fail_or_skip(f"Redis unreachable at 127.0.0.1:6379 ({exc.__class__.__name__})")
            return
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        os.environ["DATABASE_URL"] = f"{base}/{_pg_db_name}"
        os.environ["REDIS_URL"] = f"{REDIS_BASE}/{redis_db}"
        os.environ["HIREEZ_TEST_REDIS_DB"] = str(redis_db)
    else:
        os.environ["DATABASE_URL"] = f"sqlite+aiosqlite:///{TMP / 'test.db'}"
        os.environ["REDIS_URL"] = "memory://"

    from tests.support.openai_standin import start_standin_process

    standin = start_standin_process()
    config._hireez_standin = standin  # type: ignore[attr-defined]
    os.environ["OPENAI_BASE_URL"] = standin.base_url
    os.environ["OPENAI_API_KEY"] = "sk-test-standin"
    os.environ["AI_MAX_RETRIES"] = "0"
    # evaluations run in-process unless a test asks for Celery (test_celery_worker.py)
    os.environ["EVALUATION_BACKEND"] = "inprocess"
    os.environ["AI_TIMEOUT_SEC"] = "5"

    from app.core.config import get_settings

    get_settings.cache_clear()
    _migrate()


def _migrate() -> None:
    from alembic.config import Config

    from alembic import command

    cfg = Config(str(Path(__file__).resolve().parents[1] / "alembic.ini"))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")


def pytest_unconfigure(config: pytest.Config) -> None:
    standin = getattr(config, "_hireez_standin", None)
    if standin is not None:
        standin.stop()
    if MODE == "real" and _pg_db_name:
        import asyncpg
        import redis

        async def _drop() -> None:
            conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{_pg_db_name}" WITH (FORCE)')
            finally:
                await conn.close()

        asyncio.run(_drop())
        db = os.environ.get("HIREEZ_TEST_REDIS_DB")
        if db:
            client = redis.Redis.from_url(f"{REDIS_BASE}/{db}")
            client.flushdb()
            client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def standin(pytestconfig: pytest.Config) -> Any:
    """Handle on the OpenAI-compatible stand-in server (see tests/support/openai_standin.py)."""
    return pytestconfig._hireez_standin  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _reset_standin(standin: Any) -> Iterator[None]:
    standin.reset()
    yield
    standin.reset()


@pytest.fixture(scope="session")
async def app() -> AsyncIterator[Any]:
    from app.main import create_app

    application = create_app()
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(autouse=True)
async def _clean_state(app: Any) -> AsyncIterator[None]:
    """Every test starts with empty tables and an empty Redis database."""
    yield
    from sqlalchemy import text
    from sqlmodel import SQLModel

    from app.core.database import get_engine
    from app.core.redis import get_redis
    from app.services import lifecycle
    from app.services.interview_events import get_hub
    from app.services.ws_connection_manager import get_manager

    # sockets the test left open on the in-process server are closed and cleaned up first
    await get_manager().close_all(1001)
    for _ in range(100):
        if not get_manager().local:
            break
        await asyncio.sleep(0.05)
    await lifecycle.drain()
    await get_hub().forget_all()
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    async with get_engine().begin() as conn:
        if MODE == "real":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await conn.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608 (table names)
    await flush_redis(get_redis())


async def flush_redis(redis: Any) -> None:
    """FLUSHDB, keeping this run's claim on its DB number in the same transaction: an empty
    DB would look free to a real run starting beside this one (see _pick_redis_db)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.flushdb()
        pipe.set(REDIS_CLAIM_KEY, "1", ex=3600)
        await pipe.execute()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[Any]:
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def db() -> AsyncIterator[Any]:
    from app.core.database import session_factory

    async with session_factory()() as session:
        yield session


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Change settings for one test: `settings_env(LLM_PROVIDER="offline")`; restored after."""
    from app.core.config import get_settings

    def _apply(**values: Any) -> Any:
        for key, value in values.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, str(value))
        get_settings.cache_clear()
        return get_settings()

    yield _apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
async def server(app: Any) -> AsyncIterator[str]:
    """The app served by a real uvicorn on a free port (websockets-sansio, as in production).

    It shares this process's database, Redis and event hub with the `app` fixture, whose
    lifespan already set them up. Yields the base URL `http://127.0.0.1:PORT`.
    """
    import uvicorn

    from app.main import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, lifespan="off", ws="websockets-sansio",
        log_level="info", access_log=True,
    )
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    await task


@pytest.fixture
def ws_url(server: str) -> Any:
    """`ws_url(path, token)` → the ws:// URL of an API path on the test server."""

    def _url(path: str, token: str | None = None, **query: str) -> str:
        params = dict(query)
        if token is not None:
            params["token"] = token
        qs = "&".join(f"{k}={v}" for k, v in params.items())
        return f"{server.replace('http', 'ws', 1)}/api/v1{path}" + (f"?{qs}" if qs else "")

    return _url
