"""Command-line commands: search, ingest, remove, stats, reindex, feeds, migrate-to."""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from bot.config import Settings, SettingsError
from bot.console import chat
from bot.feeds import add_parser as add_feeds_parser
from bot.feeds import feeds_command
from bot.logs import configure_logging
from bot.runner import run_bot
from search.follow import IndexMissing
from search.results import SearchHit
from storage.backends import open_store
from storage.models import Outcome
from storage.pg.copy import CopyError, migrate_to
from storage.store import Store

_TAG_RE = re.compile(r"</?b>")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="furat", description="Search and follow Arabic news.")
    sub = parser.add_subparsers(dest="command", required=True)
    search = sub.add_parser("search", help="search the archive")
    search.add_argument("query", nargs="?", default="")
    search.add_argument("--json", action="store_true", help="one JSON line per query")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--stdin", action="store_true", help="read one query per line")
    ingest = sub.add_parser("ingest", help="add or update articles (.txt files or folders)")
    ingest.add_argument("paths", nargs="*", type=Path)
    remove = sub.add_parser("remove", help="remove one document by its key")
    remove.add_argument("key")
    sub.add_parser("stats", help="show the size of the archive")
    sub.add_parser("reindex", help="build the search index anew from the archive")
    add_feeds_parser(sub)
    move = sub.add_parser("migrate-to", help="copy this SQLite archive into PostgreSQL")
    move.add_argument("url", help="postgresql://user@host/db (password: PGPASSWORD or in the URL)")
    move.add_argument("--db", type=Path, help="the SQLite file to copy (default: FURAT_DB)")
    sub.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    sub.add_parser("chat", help="talk to the bot in this terminal, no token needed")
    return parser


def _hit_json(hit: SearchHit) -> dict[str, object]:
    found: dict[str, object] = {
        "doc": hit.doc,
        "title": hit.title,
        "outlet": hit.outlet,
        "agency": hit.agency,  # the news agency its dateline names, null when none
        "passage": hit.passage,
        "score": hit.score,
        "url": hit.url,  # null for documents from files
        "published": hit.published,
    }
    if hit.copies:  # near-copies folded into this result
        found["copies"] = [{"doc": c.doc, "outlet": c.outlet} for c in hit.copies]
    return found


def _print_listing(query: str, hits: list[SearchHit]) -> None:
    if not hits:
        print(f"No results for {query!r}.")
        return
    for rank, hit in enumerate(hits, 1):
        outlet = f" — {hit.outlet}" if hit.outlet else ""
        snippet = html.unescape(_TAG_RE.sub("*", hit.snippet))  # the snippet is HTML
        print(f"{rank}. {hit.title}{outlet}  [{hit.doc} #{hit.ordinal}, {hit.score:.2f}]")
        print(f"   {snippet}\n")


async def _search(store: Store, args: argparse.Namespace) -> int:
    queries = (line.rstrip("\n") for line in sys.stdin) if args.stdin else [args.query]
    if args.stdin:
        # For a stream of queries the vocabulary's lookup indexes are built first, as the bot
        # does at start-up: no query pays for them (a lazy fuzzy index cost one query 2.5 s).
        # One query builds only those it needs (most need none: 6 s saved at 29.5k articles).
        await store.warm_up()
    for query in queries:
        started = time.perf_counter()
        hits = await store.search(query, limit=args.limit)
        took = (time.perf_counter() - started) * 1000
        if args.json or args.stdin:
            line = {
                "query": query,
                "results": [_hit_json(h) for h in hits],
                "took_ms": round(took, 3),
            }
            print(json.dumps(line, ensure_ascii=False), flush=True)
        else:
            _print_listing(query, hits)
    return 0


class _Progress:
    """Show how far indexing has come, on one line of stderr."""

    shown = False

    def __call__(self, done: int, total: int) -> None:
        self.shown = True
        print(f"\rindexed {done} of {total} passages", end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.shown:
            print(file=sys.stderr)


async def _ingest(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    report = await store.ingest(args.paths or [settings.seeds])
    for f in report.files:
        detail = f": {f.reason}" if f.reason else ""
        print(f"{f.outcome.value:9} {f.path}{detail}")
    print(report.summary())
    # What was added is searchable through the index at once, in this process or the next.
    progress = _Progress()
    await store.follow_index(progress)
    progress.end()
    return 1 if report.count(Outcome.FAILED) else 0


async def _remove(store: Store, key: str) -> int:
    if await store.remove_document(key):
        print(f"removed {key}")
        return 0
    print(f"furat: no document has the key {key!r}", file=sys.stderr)
    return 1


async def _stats(store: Store) -> int:
    s = await store.stats()
    print(f"documents  {s.documents}\npassages   {s.passages}\noutlets    {s.outlets}")
    print(f"database   {s.path} ({s.size_bytes / 1024:.0f} KiB)")
    print(f"last ingest {s.last_ingest or 'never'}")
    index = await store.index_status()
    if index is not None:
        state = "in step" if index.in_step else f"of {index.passages}: run furat reindex"
        print(f"search index {index.folder} ({index.indexed} passages, {state})")
    return 0


async def _reindex(store: Store) -> int:
    started = time.monotonic()
    progress = _Progress()
    try:
        status = await store.reindex(progress)
    except IndexMissing as e:
        print(f"furat: reindex: {e}", file=sys.stderr)
        return 1
    progress.end()
    print(
        f"search index {status.folder}: {status.indexed} passages"
        f" in {time.monotonic() - started:.1f} s"
    )
    return 0


async def _migrate_to(args: argparse.Namespace, settings: Settings) -> int:
    source = args.db or settings.db_path
    if not args.db and settings.db_url:
        print(
            "furat: migrate-to: FURAT_DB names PostgreSQL; give the SQLite file with --db PATH",
            file=sys.stderr,
        )
        return 2
    try:
        report = await migrate_to(source, args.url)
    except CopyError as e:
        print(f"furat: migrate-to: {e}", file=sys.stderr)
        return 1
    print(f"{'table':<14} {'in SQLite':>10} {'copied':>10}")
    for t in report.tables:
        print(f"{t.table:<14} {t.source:>10} {t.copied:>10}")
    return 0


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    # An explicit ingest or removal decides what is in, so it skips the embedded seed build.
    seeds = None if args.command in ("ingest", "remove", "reindex") else settings.seeds
    store = await open_store(settings.database, seeds=seeds, index=settings.index_folder)
    try:
        if args.command == "search":
            return await _search(store, args)
        if args.command == "ingest":
            return await _ingest(store, args, settings)
        if args.command == "remove":
            return await _remove(store, args.key)
        if args.command == "feeds":
            return await feeds_command(store, args, settings)
        if args.command == "reindex":
            return await _reindex(store)
        return await _stats(store)
    finally:
        await store.close()


def run_cli(argv: Sequence[str]) -> int:
    """Run one command and return the process exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"furat: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.token)
    if args.command == "run":
        return run_bot(settings)
    if args.command == "migrate-to":
        return asyncio.run(_migrate_to(args, settings))
    try:
        if args.command == "chat":
            return asyncio.run(chat(settings))
        return asyncio.run(_run(args, settings))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        if not settings.db_url:
            raise
        print(f"furat: cannot use the database {settings.database_shown}: {exc}", file=sys.stderr)
        return 1
