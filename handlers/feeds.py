"""Operator commands for the feeds the archive grows from: /addfeed, /feeds, /removefeed."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.admin import is_operator
from handlers.common import lang_for, reply, settings_of, store_of
from handlers.render import quote
from handlers.texts import Lang, counted, t
from sources.urls import AddressPolicy, UnsafeURL, checked_feed_url
from storage.feeds import FeedExists, FeedInfo

REASON_CHARS = 300
LISTING_CHARS = 3500  # one message; a longer list is for `furat feeds list`


def _argument(update: Update) -> str:
    message = update.effective_message
    assert message is not None and message.text is not None
    parts = message.text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def add_feed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add a feed: /addfeed URL [name]."""
    if not await is_operator(update, context):
        return
    lang = lang_for(update)
    raw, *name = _argument(update).split(maxsplit=1) or [""]
    if not raw:
        await reply(update, t(lang, "addfeed_usage"), lang)
        return
    policy = AddressPolicy(allow_private=settings_of(context).allow_private_urls)
    store = store_of(context)
    try:
        url = await checked_feed_url(raw, policy)
        feed = await store.add_feed(url, name[0] if name else None)
    except UnsafeURL as exc:
        # The reason may hold the URL: a 4,000-character one would not fit a message.
        await reply(update, t(lang, "feed_refused", reason=quote(str(exc), REASON_CHARS)), lang)
        return
    except FeedExists:
        known = await store.find_feed(url)
        await reply(update, t(lang, "feed_exists", id=known.id if known else "?"), lang)
        return
    await reply(update, t(lang, "feed_added", id=feed.id, url=quote(feed.url, REASON_CHARS)), lang)


def _feed_line(feed: FeedInfo, lang: Lang) -> str:
    if feed.last_status is None:
        state = t(lang, "feed_unread")
    elif feed.last_status == "error":
        error = quote(feed.last_error or "?", REASON_CHARS)
        state = t(lang, "feed_error", errors=feed.errors, error=error)
    else:
        state = t(lang, "feed_ok", at=(feed.last_polled or "")[:16].replace("T", " "))
    return t(
        lang,
        "feed_line",
        id=feed.id,
        name=f"<b>{quote(feed.name or feed.url, REASON_CHARS)}</b>",
        url=quote(feed.url, REASON_CHARS),
        articles=counted(lang, "articles", feed.articles),
        state=state,
    )


async def list_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the feeds with their articles and state."""
    if not await is_operator(update, context):
        return
    lang = lang_for(update)
    feeds = await store_of(context).feeds()
    if not feeds:
        await reply(update, t(lang, "feeds_empty"), lang)
        return
    lines = [t(lang, "feeds_header")]
    size = len(lines[0])
    for shown, feed in enumerate(feeds):
        line = _feed_line(feed, lang)
        size += len(line) + 2
        if size > LISTING_CHARS:
            lines.append(f"… +{len(feeds) - shown}")
            break
        lines.append(line)
    await reply(update, "\n\n".join(lines), lang, disable_web_page_preview=True)


async def remove_feed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remove a feed by id; its articles stay."""
    if not await is_operator(update, context):
        return
    lang = lang_for(update)
    ref = _argument(update)
    if not ref.isdigit() or len(ref) > 18:
        await reply(update, t(lang, "removefeed_usage"), lang)
        return
    feed = await store_of(context).remove_feed(int(ref))
    if feed is None:
        await reply(update, t(lang, "feed_unknown"), lang)
        return
    url = quote(feed.url, REASON_CHARS)
    await reply(update, t(lang, "feed_removed", id=feed.id, url=url), lang)
