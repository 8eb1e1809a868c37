"""Migrations build the schema from empty, match the models, and go back down."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from tests.conftest import MODE, PG_ADMIN_DSN, TMP

BACKEND = Path(__file__).resolve().parents[1]


def alembic(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=BACKEND,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


def empty_database() -> str:
    if MODE != "real":
        return f"sqlite+aiosqlite:///{TMP / ('migrate-' + secrets.token_hex(4) + '.db')}"
    import asyncpg

    name = f"hireez_migrate_{secrets.token_hex(4)}"

    async def _create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(_create())
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def test_upgrade_from_empty_matches_the_models_and_downgrades():
    url = empty_database()
    up = alembic(url, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    tables = asyncio.run(_tables(url))
    assert set(SQLModel.metadata.tables) <= tables
    check = alembic(url, "check")  # autogenerate finds nothing to add: models == migrations
    assert check.returncode == 0, check.stdout + check.stderr
    down = alembic(url, "downgrade", "base")
    assert down.returncode == 0, down.stderr
    assert asyncio.run(_tables(url)) <= {"alembic_version"}
    drop_database(url)


def drop_database(url: str) -> None:
    if MODE != "real":
        return
    import asyncpg

    async def _drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        await conn.close()

    asyncio.run(_drop())
