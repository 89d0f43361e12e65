"""Shared fixtures: a store built from the seeds in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def furat(
    args: list[str], db: Path, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` on a database, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "FURAT_DB": str(db), "FURAT_SEEDS": str(SEEDS), **env},
        cwd=ROOT,
        timeout=120,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """Yield a store holding the five seed articles."""
    s = await Store.open(tmp_path / "furat.db", seeds=SEEDS)
    yield s
    await s.close()


@pytest.fixture
async def empty_store(tmp_path: Path) -> AsyncIterator[Store]:
    """Yield a store with no documents."""
    s = await Store.open(tmp_path / "empty.db")
    yield s
    await s.close()
