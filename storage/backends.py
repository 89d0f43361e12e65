"""Open the archive a settings value names: a SQLite file, or a postgresql:// URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from search.analysis import light_stem
from search.index import PassageIndex
from search.query import Stemmer
from storage.pg import is_postgres_url
from storage.store import Store


def index_folder(path: str | Path, index: Path | bool) -> Path | None:
    """Return the folder of a database's derived search index, or None for no index."""
    if index is True:
        # Each PostgreSQL replica keeps its own, in the folder FURAT_INDEX names.
        return None if is_postgres_url(str(path)) else Path(f"{path}.index")
    return index or None


async def open_store(
    path: str | Path,
    seeds: Path | None = None,
    stemmer: Stemmer = light_stem,
    index: Path | bool = True,
) -> Store:
    """Open (creating and migrating) the database; fill it from seeds when empty.

    The derived search index lives in the folder index names; True puts it beside a SQLite
    file, False does without. An archive without one searches with its own index.
    """
    folder = index_folder(path, index)
    passages = await asyncio.to_thread(PassageIndex.open, folder) if folder else None
    store: Store
    if is_postgres_url(str(path)):
        from storage.pg.store import PgStore  # the PostgreSQL side loads only when asked

        store = await PgStore.connect(str(path), stemmer, passages)
    else:
        store = await Store.connect(str(path), stemmer, passages)
    try:
        empty = not await store.document_count()
        if empty and seeds is not None and await asyncio.to_thread(Path.is_dir, seeds):
            await store.ingest([seeds])
    except BaseException:
        await store.close()
        raise
    return store
