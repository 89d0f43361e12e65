"""Following topics: /subscribe, /subscriptions, /unsubscribe, /digest, /timezone, /quiet."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from handlers.callbacks import Action, BadCallback, Callback, decode
from handlers.common import clock_of, lang_for, reply, settings_of, store_of
from handlers.render import quote, result_cards
from handlers.texts import Lang, t
from handlers.timeparse import BadTime, parse_hhmm, parse_range, parse_zone
from search.lexicon import load_lexicon
from search.query import only_stopwords
from storage.models import Chat, SubscribeResult, Subscription
from storage.timestamps import iso

ADMIN_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
OFF_WORDS = ("off", "stop", "إيقاف", "ايقاف")


class NotAdmin(Exception):
    """A group member who is not an administrator tried to change the group's settings."""


async def _chat(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: Lang) -> Chat:
    """Return the chat's settings row, checking group admin rights first."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    if chat.type != ChatType.PRIVATE:
        member = await context.bot.get_chat_member(chat.id, user.id)
        if member.status not in ADMIN_STATUSES:
            raise NotAdmin
    return await store_of(context).ensure_chat(
        chat.id, chat.type, lang.value, settings_of(context).timezone, clock_of(context)()
    )


async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Chat | None:
    """Return the chat's settings, or answer that only admins may change them."""
    lang = lang_for(update)
    try:
        return await _chat(update, context, lang)
    except NotAdmin:
        await reply(update, t(lang, "admins_only"), lang)
        return None


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow a query; confirm with a passage or two it would have matched."""
    query = " ".join(context.args or [])
    lang = lang_for(update, query)
    if not query.strip():
        await reply(update, t(lang, "subscribe_usage"), lang)
        return
    if only_stopwords(query, load_lexicon()):
        await reply(update, t(lang, "subscription_stopwords", query=quote(query)), lang)
        return
    chat = await guarded(update, context)
    if chat is None:
        return
    store = store_of(context)
    limit = settings_of(context).max_subscriptions
    result = await store.subscribe(chat.id, query[:200], limit)
    if result is SubscribeResult.ADDED:
        text = t(lang, "subscribed", query=quote(query))
        if examples := await store.would_alert(query[:200], limit=2):
            text += f"\n\n{t(lang, 'would_match')}\n\n{result_cards(examples, 1, lang)}"
    elif result is SubscribeResult.EXISTS:
        text = t(lang, "already_subscribed", query=quote(query))
    elif result is SubscribeResult.LIMIT:
        text = t(lang, "subscription_limit", limit=limit)
    else:
        text = t(lang, "subscription_empty", query=quote(query))
    await reply(update, text, lang)


def _remove_buttons(subs: list[Subscription], lang: Lang) -> InlineKeyboardMarkup:
    """Return one ❌ button per subscription."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "unsubscribe_button", query=s.query[:40]),
                    callback_data=Callback(Action.UNSUBSCRIBE, s.id).encode(),
                )
            ]
            for s in subs
        ]
    )


async def list_subscriptions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the chat's subscriptions, each with a button that removes it."""
    lang = lang_for(update)
    chat = update.effective_chat
    assert chat is not None
    subs = await store_of(context).subscriptions(chat.id)
    if not subs:
        await reply(update, t(lang, "subscriptions_none"), lang)
        return
    lines = [t(lang, "subscriptions_header")]
    lines += [f"{n}. {html.escape(s.query)}" for n, s in enumerate(subs, 1)]
    await reply(update, "\n".join(lines), lang, reply_markup=_remove_buttons(subs, lang))


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop following a query named after the command (or its number in the list)."""
    lang = lang_for(update)
    arg = " ".join(context.args or []).strip()
    if not arg:
        await reply(update, t(lang, "unsubscribe_usage"), lang)
        return
    chat = await guarded(update, context)
    if chat is None:
        return
    store = store_of(context)
    subs = await store.subscriptions(chat.id)
    if arg.isdigit() and 1 <= int(arg) <= len(subs):
        target = subs[int(arg) - 1]
        done = await store.unsubscribe(chat.id, sub_id=target.id)
        arg = target.query
    else:
        done = await store.unsubscribe(chat.id, query=arg)
    await reply(
        update, t(lang, "unsubscribed" if done else "not_subscribed", query=quote(arg)), lang
    )


async def unsubscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remove the subscription behind a ❌ button and refresh the list."""
    query = update.callback_query
    assert query is not None
    callback = decode(query.data)
    lang = lang_for(update)
    chat = update.effective_chat
    if chat is None:
        raise BadCallback(query.data)
    try:
        await _chat(update, context, lang)
    except NotAdmin:
        await query.answer(t(lang, "admins_only"), show_alert=True)
        return
    store = store_of(context)
    subs = {s.id: s for s in await store.subscriptions(chat.id)}
    if callback.a in subs and await store.unsubscribe(chat.id, sub_id=callback.a):
        await query.answer(html.unescape(t(lang, "unsubscribed", query=subs[callback.a].query)))
    else:  # removed already (another tap, /unsubscribe, another admin): not worth a new search
        await query.answer(t(lang, "subscription_gone"), show_alert=True)
    remaining = [s for s in subs.values() if s.id != callback.a]
    try:
        await query.edit_message_reply_markup(
            _remove_buttons(remaining, lang) if remaining else None
        )
    except BadRequest as e:  # the buttons already show the current list
        if "not modified" not in str(e).lower():
            raise


def _what_was_wrong(bad: BadTime, usage: str, lang: Lang) -> str:
    """Return what was wrong with the argument (nothing when there was none) and the usage."""
    if not bad.text:
        return t(lang, usage)
    return f"{t(lang, bad.reason, value=quote(bad.text))}\n{t(lang, usage)}"


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Set the daily digest time (`HH:MM`) or turn it off (`off`)."""
    arg = " ".join(context.args or []).strip().lower()
    lang = lang_for(update)
    chat = await guarded(update, context)
    if chat is None:
        return
    store = store_of(context)
    if arg in OFF_WORDS:
        await store.update_chat(chat.id, digest_time=None)
        await reply(update, t(lang, "digest_off"), lang)
        return
    try:
        at = parse_hhmm(arg)
    except BadTime as bad:
        await reply(update, _what_was_wrong(bad, "digest_usage", lang), lang)
        return
    # Only times after now count: setting 08:00 at 09:00 does not send today's digest.
    await store.update_chat(
        chat.id, digest_time=at.strftime("%H:%M"), last_digest_at=iso(clock_of(context)())
    )
    await reply(
        update,
        t(lang, "digest_set", time=at.strftime("%H:%M"), tz=html.escape(chat.timezone)),
        lang,
    )


async def timezone(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Set the chat's time zone from an IANA name or a UTC offset."""
    arg = " ".join(context.args or []).strip()
    lang = lang_for(update)
    try:
        name = parse_zone(arg)
    except BadTime as bad:
        await reply(update, _what_was_wrong(bad, "timezone_usage", lang), lang)
        return
    chat = await guarded(update, context)
    if chat is None:
        return
    await store_of(context).update_chat(chat.id, timezone=name)
    await reply(update, t(lang, "timezone_set", tz=html.escape(name)), lang)


async def quiet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Set quiet hours (`HH:MM-HH:MM`) during which alerts wait, or remove them (`off`)."""
    arg = " ".join(context.args or []).strip().lower()
    lang = lang_for(update)
    chat = await guarded(update, context)
    if chat is None:
        return
    store = store_of(context)
    if arg in OFF_WORDS:
        await store.update_chat(chat.id, quiet_start=None, quiet_end=None)
        await reply(update, t(lang, "quiet_off"), lang)
        return
    try:
        start, end = parse_range(arg)
    except BadTime as bad:
        await reply(update, _what_was_wrong(bad, "quiet_usage", lang), lang)
        return
    await store.update_chat(
        chat.id, quiet_start=start.strftime("%H:%M"), quiet_end=end.strftime("%H:%M")
    )
    await reply(
        update, t(lang, "quiet_set", start=start.strftime("%H:%M"), end=end.strftime("%H:%M")), lang
    )
