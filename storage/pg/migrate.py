"""Apply the numbered PostgreSQL migrations, each exactly once however many replicas start."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import asyncpg

# Any fixed 64-bit key: every replica's migration transaction takes this advisory lock first,
# so transactions of replicas starting together run one after the other.
LOCK_KEY = 0x4675726174_0001  # "Furat", 1

_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered migration script."""

    version: int
    name: str
    sql: str


@dataclass(frozen=True)
class MigrationRun:
    """What one run of the migrations did: versions it applied, and the schema's version after."""

    applied: tuple[int, ...]
    version: int


def available() -> tuple[Migration, ...]:
    """Return the migrations shipped in storage/pg/migrations, in version order."""
    found = []
    for entry in resources.files("storage.pg").joinpath("migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m[1]), m[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two PostgreSQL migrations share a number: {versions}")
    return tuple(found)


async def _applied(conn: asyncpg.Connection) -> set[int]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}


async def migrate(
    pool: asyncpg.Pool, migrations: Sequence[Migration] | None = None
) -> MigrationRun:
    """Apply the migrations (default: those shipped) this database lacks, each with its record."""
    applied: list[int] = []
    async with pool.acquire() as conn:
        for mig in available() if migrations is None else migrations:
            async with conn.transaction():
                # Held to the end of the transaction: a replica waiting here sees the record
                # another wrote before it, and skips the migration.
                await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY,"
                    " name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                if mig.version in await _applied(conn):
                    continue
                await conn.execute(mig.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    mig.version,
                    mig.name,
                )
                applied.append(mig.version)
        version = max(await _applied(conn), default=0)
    return MigrationRun(tuple(applied), version)


async def missing(pool: asyncpg.Pool) -> tuple[int, ...]:
    """Return the versions of shipped migrations this database has not applied yet."""
    async with pool.acquire() as conn:
        done = await _applied(conn)
    return tuple(mig.version for mig in available() if mig.version not in done)
