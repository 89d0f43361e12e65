"""Keep a derived passage index in step with the archive it was built from.

Every process that searches follows the archive itself: a bot, a `furat search` in another
terminal, each replica on its own machine. Whoever follows first writes; the others read what
it committed, and until the index covers the archive they search the archive's own index.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from search.index import IndexBusy, IndexWriter, Mark, PassageIndex, Row, replace_folder

log = logging.getLogger(__name__)

BATCH = 5_000  # passages read and committed at a time
# A search waits for the index to take up to this many new passages (a feed poll's worth);
# an index further behind is brought up to date in the background meanwhile.
INLINE = 5_000

Progress = Callable[[int, int], None]  # passages indexed so far, passages in the archive


class IndexMissing(Exception):
    """The archive has no derived index to rebuild."""


@dataclass(frozen=True)
class IndexStatus:
    """How far a derived index holds its archive."""

    folder: str
    indexed: int  # passages in the index
    passages: int  # passages in the archive
    in_step: bool  # it holds every passage of the archive, and no other


class IndexRows(Protocol):
    """What the archive answers the follower."""

    async def archive_id(self) -> str: ...
    async def ends(self) -> tuple[int, int, int]: ...  # last passage id, last removal, passages
    async def passages_after(self, passage_id: int, limit: int) -> list[Row]: ...
    async def passages_by_id(self, ids: list[int]) -> list[Row]: ...
    async def removals_after(self, seq: int, limit: int) -> list[tuple[int, int]]: ...


async def follow(
    index: PassageIndex,
    rows: IndexRows,
    budget: int | None = None,
    progress: Progress | None = None,
) -> bool:
    """Bring the index up to the archive, at most budget passages; tell if it is in step.

    Raises IndexBusy while another process writes the index.
    """
    archive = await rows.archive_id()
    await asyncio.to_thread(index.refresh)
    mark = index.mark
    last_id, last_removal, total = await rows.ends()
    clear = mark is None or mark.archive != archive
    if mark is None or clear:
        # Built from nothing: the archive's past removals are already out of its passages.
        mark = Mark(archive, 0, last_removal)
    done = 0 if clear else await asyncio.to_thread(index.count)
    writer: IndexWriter | None = None
    try:
        while True:
            removals = await rows.removals_after(mark.removal, BATCH)
            added = await rows.passages_after(mark.passage, BATCH)
            if not (removals or added or clear):
                return True
            removed = [passage_id for _, passage_id in removals]
            # A removed id may be in use again (SQLite reuses the largest): read it anew.
            back = await rows.passages_by_id([i for i in removed if i <= mark.passage])
            mark = Mark(
                archive,
                added[-1].id if added else mark.passage,
                removals[-1][0] if removals else mark.removal,
            )
            if writer is None:
                writer = await asyncio.to_thread(index.writer)
            await asyncio.to_thread(writer.commit, back + added, removed, mark, clear)
            clear = False
            done += len(added)
            if progress is not None:
                progress(done, total)
            if budget is not None:
                budget -= len(added)
                if budget <= 0:
                    return mark.passage >= last_id and mark.removal >= last_removal
    finally:
        if writer is not None:
            await asyncio.to_thread(writer.close)


async def covers(index: PassageIndex, rows: IndexRows) -> bool:
    """Tell whether the index, as committed, holds the archive as it is now."""
    await asyncio.to_thread(index.refresh)
    mark = index.mark
    last_id, last_removal, _ = await rows.ends()
    return (
        mark is not None
        and mark.archive == await rows.archive_id()
        and mark.passage >= last_id
        and mark.removal >= last_removal
    )


class Follower:
    """Hand searches the index when it holds the archive at their version, else None."""

    def __init__(self, index: PassageIndex, rows: IndexRows) -> None:
        self.index = index
        self._rows = rows
        self._lock = asyncio.Lock()
        self._version: str | None = None  # the archive version the index last held
        self._catching_up: asyncio.Task[None] | None = None

    async def current(self, version: str) -> PassageIndex | None:
        """Return the index if it holds the archive at this version (following it first)."""
        if version == self._version and not self.index.replaced():
            return self.index
        if self._lock.locked():
            # Another search is following: the index it had serves until then.
            return self.index if self._version is not None else None
        async with self._lock:
            try:
                in_step = await follow(self.index, self._rows, INLINE)
            except IndexBusy:  # another process follows: what it committed may be enough
                in_step = await covers(self.index, self._rows)
            except Exception:  # the archive's own index serves meanwhile
                log.exception("the search index could not follow the archive")
                in_step = False
            if in_step:
                self._version = version
                return self.index
        self._version = None
        self.catch_up()
        return None

    async def follow_all(self, progress: Progress | None = None) -> IndexStatus:
        """Follow the archive to its end now, unless another process is doing so."""
        async with self._lock:
            try:
                await follow(self.index, self._rows, progress=progress)
            except IndexBusy:
                log.info("another process is writing the search index; it will catch up")
        return await self.status()

    async def status(self) -> IndexStatus:
        """Return how far the index holds the archive."""
        followed = await covers(self.index, self._rows)
        _, _, passages = await self._rows.ends()
        indexed = await asyncio.to_thread(self.index.count)
        # Followed to the end yet holding another count: changed behind the archive's back.
        return IndexStatus(
            str(self.index.folder), indexed, passages, followed and indexed == passages
        )

    async def rebuild(self, progress: Progress | None = None) -> IndexStatus:
        """Build the index anew beside the old one, then put it in its place."""
        folder = self.index.folder
        new = folder.with_name(folder.name + ".new")  # kept if interrupted: resumed next time
        fresh = await asyncio.to_thread(PassageIndex.open, new)
        await follow(fresh, self._rows, progress=progress)
        async with self._lock:  # no search of this process follows the old one meanwhile
            await asyncio.to_thread(replace_folder, new, folder)
            await asyncio.to_thread(self.index.refresh)
            self._version = None
        return await self.status()

    def catch_up(self) -> None:
        """Follow the archive to its end in the background, unless already under way."""
        if self._catching_up is None or self._catching_up.done():
            self._catching_up = asyncio.create_task(self._follow_all())

    async def _follow_all(self) -> None:
        async with self._lock:
            try:
                await follow(self.index, self._rows, progress=_log_progress)
            except IndexBusy:
                log.info("another process is writing the search index; reading what it commits")
            except Exception:
                log.exception("the search index could not follow the archive")

    async def close(self) -> None:
        """Stop following; what was committed stays."""
        if self._catching_up is not None:
            self._catching_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catching_up


def _log_progress(done: int, total: int) -> None:
    if done % (20 * BATCH) < BATCH or done >= total:
        log.info("search index: %d of %d passages", done, total)
