"""Feeds from the settings: the shared fetcher, the poll policy, and the `furat feeds` commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path

from bot.config import Settings
from bot.sender import utc_now
from sources.fetch import Fetcher, FetchLimits
from sources.opml import OpmlError, opml_document, read_opml
from sources.poll import PollPolicy, PollResult, poll_feeds
from sources.urls import AddressPolicy, UnsafeURL, canonical_url, checked_feed_url
from storage.feeds import FeedExists, PollStatus
from storage.store import Store


def address_policy(settings: Settings) -> AddressPolicy:
    """Return which addresses may be fetched under these settings."""
    return AddressPolicy(allow_private=settings.allow_private_urls)


def make_fetcher(settings: Settings) -> Fetcher:
    """Build the one HTTP client feeds and pages are fetched with."""
    limits = FetchLimits(timeout_s=settings.fetch_timeout, max_bytes=settings.fetch_max_bytes)
    return Fetcher(limits, address_policy(settings))


def poll_policy(settings: Settings) -> PollPolicy:
    """Return how often feeds are read under these settings."""
    return PollPolicy(interval=timedelta(seconds=settings.feed_interval))


# --- `furat feeds …` ------------------------------------------------------------------------


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `feeds` command and its subcommands."""
    feeds = sub.add_parser("feeds", help="the feeds new articles come from")
    verbs = feeds.add_subparsers(dest="verb", required=True)
    add = verbs.add_parser("add", help="add a feed (RSS or Atom URL); prints its id")
    add.add_argument("url")
    add.add_argument("--name", help="the outlet its articles are filed under")
    listing = verbs.add_parser("list", help="list the feeds")
    listing.add_argument("--json", action="store_true", help="one JSON array")
    remove = verbs.add_parser("remove", help="remove a feed by id or URL; its articles stay")
    remove.add_argument("feed")
    imports = verbs.add_parser("import", help="add the feeds of an OPML file")
    imports.add_argument("file", type=Path)
    verbs.add_parser("export", help="print the feeds as OPML")
    poll = verbs.add_parser("poll", help="read every feed once now")
    poll.add_argument("--json", action="store_true", help="one JSON object per feed")


def _fail(message: str, code: int = 2) -> int:
    print(f"furat: {message}", file=sys.stderr)
    return code


async def feeds_command(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    """Run one `furat feeds` subcommand and return the exit code."""
    if args.verb == "add":
        return await _add(store, args.url, args.name, settings)
    if args.verb == "list":
        return await _list(store, args.json)
    if args.verb == "remove":
        feed = await store.remove_feed(args.feed.strip())
        if feed is None:
            return _fail(f"no feed has the id or URL {args.feed!r}", 1)
        print(f"removed feed {feed.id} ({feed.url}); its articles stay")
        return 0
    if args.verb == "import":
        return await _import(store, args.file, settings)
    if args.verb == "export":
        feeds = await store.feeds()
        sys.stdout.write(opml_document([(f.url, f.name) for f in feeds]))
        return 0
    return await _poll(store, args.json, settings)


async def _add(store: Store, raw: str, name: str | None, settings: Settings) -> int:
    try:
        url = await checked_feed_url(raw, address_policy(settings))
        feed = await store.add_feed(url, name)
    except UnsafeURL as exc:
        return _fail(str(exc))
    except FeedExists:
        known = await store.find_feed(canonical_url(raw.strip()))
        return _fail(f"that feed is already listed (id {known.id if known else '?'})")
    print(feed.id)
    return 0


async def _list(store: Store, as_json: bool) -> int:
    feeds = await store.feeds()
    if as_json:
        keys = ("id", "url", "name", "last_polled", "last_status", "articles", "errors")
        print(json.dumps([{k: getattr(f, k) for k in keys} for f in feeds], ensure_ascii=False))
        return 0
    if not feeds:
        print("No feeds yet: furat feeds add URL")
    for f in feeds:
        state = f.last_status or "not read yet"
        if f.last_error:
            state += f" ({f.last_error})"
        print(f"{f.id:4}  {f.name or '-'}  {f.url}\n      {f.articles} articles, {state}")
    return 0


async def _import(store: Store, path: Path, settings: Settings) -> int:
    try:
        text = await asyncio.to_thread(path.read_bytes)
        outlines = read_opml(text)
    except (OSError, OpmlError) as exc:
        return _fail(f"cannot read {path}: {exc}")
    added = failed = 0
    for url, name in outlines:
        try:
            feed = await store.add_feed(await checked_feed_url(url, address_policy(settings)), name)
        except FeedExists:
            print(f"listed already  {url}")
            continue
        except UnsafeURL as exc:
            print(f"refused  {url}: {exc}")
            failed += 1
            continue
        added += 1
        print(f"added {feed.id}  {feed.url}")
    print(f"{added} added, {failed} refused, {len(outlines) - added - failed} listed already")
    return 1 if failed else 0


async def _poll(store: Store, as_json: bool, settings: Settings) -> int:
    async with make_fetcher(settings) as fetcher:
        results = await poll_feeds(
            store, fetcher, poll_policy(settings), utc_now(), due_only=False
        )
    if not results and not as_json:
        print("No feeds to read: furat feeds add URL", file=sys.stderr)
    for r in results:
        print(json.dumps(r.as_json(), ensure_ascii=False) if as_json else _poll_line(r), flush=True)
    return 1 if any(r.status is PollStatus.ERROR for r in results) else 0


def _poll_line(r: PollResult) -> str:
    if r.status is PollStatus.ERROR:
        return f"feed {r.feed} {r.url}: error: {r.error}"
    if r.status is PollStatus.NOT_MODIFIED:
        return f"feed {r.feed} {r.url}: not modified"
    return f"feed {r.feed} {r.url}: {r.new} new, {r.updated} updated"
