"""Shared fixtures: a store built from the seeds in a temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


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
