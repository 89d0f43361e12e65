"""Every user-facing string, in Arabic and English. Placeholders take escaped HTML."""

from __future__ import annotations

import re
from enum import StrEnum

from telegram import BotCommand, User

# Each alternative starts at a fixed character and cannot backtrack over the text: linear.
_NOT_WORDS_RE = re.compile(r"<[^<>]*>|&#?\w+;|(?:https?://|www\.)\S+|[@/#]\w+", re.IGNORECASE)


class Lang(StrEnum):
    """Interface languages."""

    AR = "ar"
    EN = "en"


TEXTS: dict[str, dict[Lang, str]] = {
    "start": {
        Lang.AR: "أهلاً بك في <b>فرات</b> 🌊\nاكتب ما تبحث عنه بالعربية أو الإنجليزية، "
        "مثل: <i>كسر الحصار عن دير الزور</i> أو <i>Peskov street fighting</i>، "
        "فأجيبك بالفقرات التي تحمل الجواب من أرشيف الأخبار.\n/help للمساعدة.",
        Lang.EN: "Welcome to <b>Furat</b> 🌊\nType what you are looking for in Arabic or "
        "English, e.g. <i>Peskov street fighting</i> or <i>كسر الحصار</i>, and I answer with "
        "the passages of the news archive that hold the answer.\n/help for help.",
    },
    "help": {
        Lang.AR: "<b>كيف أستخدم فرات؟</b>\n"
        "• اكتب سؤالك أو كلمات البحث، بالعربية أو الإنجليزية.\n"
        "• «📄 المقال كاملاً» يعرض المقال، و«التالي ◀» يعرض نتائج أخرى.\n"
        "• في أي محادثة: اكتب <code>@{bot} كلمات البحث</code>.\n"
        "• في المجموعات: اذكرني أو ردّ على رسالتي.\n"
        "• لمتابعة موضوع: <code>/subscribe الرقة</code> فتصلك أخباره الجديدة.\n\n"
        "/latest أحدث المقالات\n/sources المصادر\n/about عن الأرشيف\n"
        "/subscriptions متابعاتك\n/digest موجز يومي\n/quiet ساعات الهدوء\n"
        "/timezone المنطقة الزمنية",
        Lang.EN: "<b>How to use Furat</b>\n"
        "• Type a question or search words, in Arabic or English.\n"
        "• “📄 Full article” opens the article; “Next ▶” shows more results.\n"
        "• In any chat: type <code>@{bot} your words</code>.\n"
        "• In groups: mention me or reply to my message.\n"
        "• To follow a topic: <code>/subscribe Raqqa</code>, and its new articles come to you.\n\n"
        "/latest newest articles\n/sources outlets\n/about the archive\n"
        "/subscriptions your subscriptions\n/digest daily digest\n/quiet quiet hours\n"
        "/timezone time zone",
    },
    "about": {
        Lang.AR: "<b>أرشيف فرات</b>\nالمقالات: {documents}\nالفقرات: {passages}\n"
        "المصادر: {outlets}\nآخر تحديث: {last}",
        Lang.EN: "<b>The Furat archive</b>\nArticles: {documents}\nPassages: {passages}\n"
        "Outlets: {outlets}\nLast ingest: {last}",
    },
    "never": {Lang.AR: "لم يُحدَّث بعد", Lang.EN: "never"},
    "sources_header": {
        Lang.AR: "<b>المصادر في الأرشيف</b>",
        Lang.EN: "<b>Outlets in the archive</b>",
    },
    "sources_empty": {Lang.AR: "لا مصادر معروفة بعد.", Lang.EN: "No known outlets yet."},
    "latest_header": {Lang.AR: "<b>أحدث المقالات</b>", Lang.EN: "<b>Latest articles</b>"},
    "fill_archive": {
        Lang.AR: "الأرشيف فارغ. يملؤه المشغّل بمقالات من ملفات: <code>furat ingest PATH</code>، "
        "أو من خلاصات الأخبار: <code>furat feeds add URL</code>",
        Lang.EN: "The archive is empty. An operator fills it with articles from files: "
        "<code>furat ingest PATH</code>, or from news feeds: <code>furat feeds add URL</code>",
    },
    "results_header": {
        Lang.AR: "🔎 نتائج «{query}» ({first}–{last})",
        Lang.EN: "🔎 Results for “{query}” ({first}–{last})",
    },
    "no_results": {
        Lang.AR: "لم أجد شيئاً عن «{query}».",
        Lang.EN: "Nothing found for “{query}”.",
    },
    "list_separator": {Lang.AR: "، ", Lang.EN: ", "},
    "stopwords_only": {
        Lang.AR: "«{query}» كلمات سؤال أو ربط وحدها، ولا تكفي للبحث. أضف ما تسأل عنه، "
        "مثل: <i>كيف تحررت دير الزور</i>",
        Lang.EN: "“{query}” holds only question or common words, which are not enough to search. "
        "Add what you are asking about, e.g. <i>how was Deir ez-Zor freed</i>",
    },
    "did_you_mean": {Lang.AR: "هل تقصد: {words}؟", Lang.EN: "Did you mean: {words}?"},
    "try_entities": {Lang.AR: "جرّب مثلاً: {names}", Lang.EN: "Try for example: {names}"},
    "empty_query": {
        Lang.AR: "اكتب كلمات للبحث، بالعربية أو الإنجليزية.",
        Lang.EN: "Type some words to search, in Arabic or English.",
    },
    "full_article": {Lang.AR: "📄 المقال كاملاً", Lang.EN: "📄 Full article"},
    "also_in": {
        Lang.AR: "📑 ورد أيضاً في: {outlets} ({copies})",
        Lang.EN: "📑 Also in: {outlets} ({copies})",
    },
    "also_elsewhere": {Lang.AR: "📑 ورد أيضاً في {copies}", Lang.EN: "📑 Also in {copies}"},
    "copies_button": {Lang.AR: "📑 {copies} ({n})", Lang.EN: "📑 {copies} ({n})"},
    "copies_header": {
        Lang.AR: "<b>📑 نسخ من الخبر نفسه</b>\n{title}",
        Lang.EN: "<b>📑 Copies of the same story</b>\n{title}",
    },
    "next": {Lang.AR: "التالي ◀", Lang.EN: "Next ▶"},
    "previous": {Lang.AR: "▶ السابق", Lang.EN: "◀ Previous"},
    "more_article": {Lang.AR: "تابع القراءة ◀", Lang.EN: "More ▶"},
    "open_in_bot": {Lang.AR: "المقال في فرات", Lang.EN: "Article in Furat"},
    "article_missing": {
        Lang.AR: "هذا المقال لم يعد في الأرشيف.",
        Lang.EN: "This article is no longer in the archive.",
    },
    "stale_button": {
        Lang.AR: "انتهت صلاحية هذا الزر، ابحث من جديد.",
        Lang.EN: "This button has expired; please search again.",
    },
    "non_text": {
        Lang.AR: "أفهم النصوص فقط: اكتب كلمات البحث أو سؤالك.",
        Lang.EN: "I only read text: type your search words or question.",
    },
    "slow_down": {
        Lang.AR: "تمهّل قليلاً من فضلك: وصلتني رسائل كثيرة دفعة واحدة فلم أقرأ الزائد منها. "
        "أعد إرسال ما تريد بعد لحظات. ⏳",
        Lang.EN: "Please slow down: too many messages arrived at once and I dropped the extra "
        "ones. Send again what you need in a moment. ⏳",
    },
    "error": {
        Lang.AR: "عذراً، حدث خطأ ما. حاول مرة أخرى بعد قليل.",
        Lang.EN: "Sorry, something went wrong. Please try again shortly.",
    },
    "by_outlet": {Lang.AR: "المصدر: {outlet}", Lang.EN: "Source: {outlet}"},
    "via_agency": {Lang.AR: "عن {agency}", Lang.EN: "via {agency}"},
    "published_on": {Lang.AR: "نُشر في {date}", Lang.EN: "Published {date}"},
    "original_link": {Lang.AR: "🔗 المقال في مصدره", Lang.EN: "🔗 Original article"},
    "excerpt_only": {
        Lang.AR: "<i>(ملخص من خلاصة المصدر: تعذّر جلب صفحة المقال؛ النص الكامل في الرابط)</i>",
        Lang.EN: "<i>(The feed's summary: the article's page could not be fetched; the full text "
        "is at the link)</i>",
    },
    "alert_header": {Lang.AR: "🔔 خبر جديد يطابق متابعتك", Lang.EN: "🔔 New article for you"},
    "alert_topics": {Lang.AR: "متابعاتك: {topics}", Lang.EN: "Following: {topics}"},
    "digest_header": {
        Lang.AR: "🗞 موجزك: {articles}",
        Lang.EN: "🗞 Your digest: {articles}",
    },
    "digest_also": {
        Lang.AR: "📑 نقله أيضاً: {outlets}",
        Lang.EN: "📑 Also reported by: {outlets}",
    },
    "digest_also_elsewhere": {
        Lang.AR: "📑 نُشر أيضاً في مصادر أخرى ({more})",
        Lang.EN: "📑 Also reported elsewhere ({more})",
    },
    "digest_latest": {
        Lang.AR: "🗞 موجزك: أحدث المقالات",
        Lang.EN: "🗞 Your digest: the latest articles",
    },
    "subscribe_usage": {
        Lang.AR: "اكتب ما تريد متابعته بعد الأمر، مثل: <code>/subscribe الرقة</code>",
        Lang.EN: "Write what to follow after the command, e.g. <code>/subscribe Raqqa</code>",
    },
    "subscribed": {
        Lang.AR: "✅ ستصلك الأخبار الجديدة عن «{query}».",
        Lang.EN: "✅ You will get new articles about “{query}”.",
    },
    "would_match": {
        Lang.AR: "مثال مما كان سيصلك:",
        Lang.EN: "For example, this would have matched:",
    },
    "already_subscribed": {
        Lang.AR: "أنت تتابع «{query}» من قبل.",
        Lang.EN: "You already follow “{query}”.",
    },
    "subscription_limit": {
        Lang.AR: "بلغت الحد الأقصى ({limit}) من المتابعات. ألغِ بعضها أولاً: /subscriptions",
        Lang.EN: "You reached the subscription limit ({limit}). Remove some: /subscriptions",
    },
    "subscription_stopwords": {
        Lang.AR: "لن أتابع «{query}»: كلمات السؤال أو الربط وحدها تطابق كل شيء تقريباً. "
        "اكتب موضوعاً، مثل: <code>/subscribe الرقة</code>",
        Lang.EN: "I won't follow “{query}”: question or common words alone match almost "
        "everything. Name a topic, e.g. <code>/subscribe Raqqa</code>",
    },
    "subscription_empty": {
        Lang.AR: "لا أجد في «{query}» كلمات يمكن متابعتها.",
        Lang.EN: "There is nothing to follow in “{query}”.",
    },
    "subscriptions_header": {Lang.AR: "<b>متابعاتك</b>", Lang.EN: "<b>Your subscriptions</b>"},
    "subscriptions_none": {
        Lang.AR: "لا متابعات بعد. ابدأ بـ <code>/subscribe الرقة</code>",
        Lang.EN: "No subscriptions yet. Start with <code>/subscribe Raqqa</code>",
    },
    "unsubscribe_button": {Lang.AR: "❌ {query}", Lang.EN: "❌ {query}"},
    "unsubscribed": {
        Lang.AR: "تم إلغاء متابعة «{query}».",
        Lang.EN: "Unsubscribed from “{query}”.",
    },
    "subscription_gone": {
        Lang.AR: "هذه المتابعة أُلغيت من قبل.",
        Lang.EN: "This subscription was already removed.",
    },
    "not_subscribed": {
        Lang.AR: "لا متابعة باسم «{query}»؛ متابعاتك في /subscriptions",
        Lang.EN: "No subscription named “{query}”; yours are in /subscriptions",
    },
    "unsubscribe_usage": {
        Lang.AR: "اكتب المتابعة بعد الأمر أو استعمل الأزرار في /subscriptions",
        Lang.EN: "Write the subscription after the command, or use the buttons in /subscriptions",
    },
    "digest_set": {
        Lang.AR: "🗞 سيصلك موجز يومي الساعة {time} ({tz}).",
        Lang.EN: "🗞 You will get a daily digest at {time} ({tz}).",
    },
    "digest_off": {Lang.AR: "أوقفت الموجز اليومي.", Lang.EN: "Daily digest turned off."},
    "digest_usage": {
        Lang.AR: "مثال: <code>/digest 08:30</code> أو <code>/digest off</code>",
        Lang.EN: "For example: <code>/digest 08:30</code> or <code>/digest off</code>",
    },
    "bad_time": {
        Lang.AR: "«{value}» ليس وقتاً؛ اكتب الساعة بصيغة HH:MM مثل 08:30.",
        Lang.EN: "“{value}” is not a time; use HH:MM like 08:30.",
    },
    "bad_range": {
        Lang.AR: "«{value}» ليس مدة؛ اكتب البداية والنهاية مثل 23:00-07:00.",
        Lang.EN: "“{value}” is not a range of hours; write a start and an end like 23:00-07:00.",
    },
    "same_times": {
        Lang.AR: "البداية والنهاية متساويتان ({value})، فلا يبقى بينهما وقت هدوء؛ "
        "اختر وقتين مختلفين مثل 23:00-07:00.",
        Lang.EN: "The start and the end are the same ({value}), which leaves no quiet hours; "
        "choose two different times like 23:00-07:00.",
    },
    "bad_zone": {
        Lang.AR: "«{value}» ليست منطقة زمنية أعرفها؛ اكتب اسماً مثل Asia/Damascus "
        "أو فرقاً عن UTC مثل +3.",
        Lang.EN: "“{value}” is not a time zone I know; use a name like Europe/Berlin "
        "or an offset from UTC like +3.",
    },
    "timezone_set": {Lang.AR: "المنطقة الزمنية: {tz}", Lang.EN: "Time zone: {tz}"},
    "timezone_usage": {
        Lang.AR: "مثال: <code>/timezone Asia/Damascus</code> أو <code>/timezone +3</code>",
        Lang.EN: "For example: <code>/timezone Europe/Berlin</code> or <code>/timezone +3</code>",
    },
    "quiet_set": {
        Lang.AR: "🌙 لن تصلك تنبيهات بين {start} و{end}؛ تصلك بعدها.",
        Lang.EN: "🌙 No alerts between {start} and {end}; they arrive afterwards.",
    },
    "quiet_off": {Lang.AR: "أُلغيت ساعات الهدوء.", Lang.EN: "Quiet hours removed."},
    "quiet_usage": {
        Lang.AR: "مثال: <code>/quiet 23:00-07:00</code> أو <code>/quiet off</code>",
        Lang.EN: "For example: <code>/quiet 23:00-07:00</code> or <code>/quiet off</code>",
    },
    "admins_only": {
        Lang.AR: "في المجموعات يغيّر المتابعات مشرفو المجموعة فقط.",
        Lang.EN: "In groups only the group's administrators change subscriptions.",
    },
    "operators_only": {
        Lang.AR: "هذا الأمر للمشغّلين فقط.",
        Lang.EN: "This command is for operators.",
    },
    "broadcast_usage": {
        Lang.AR: "اكتب نص الرسالة بعد الأمر.",
        Lang.EN: "Write the message after the command.",
    },
    "broadcast_queued": {
        Lang.AR: "📣 أُضيفت الرسالة إلى {chats}.",
        Lang.EN: "📣 Message queued for {chats}.",
    },
    "status": {
        Lang.AR: "<b>الحالة</b>\nفي الطابور: {pending}\nأُرسل خلال 24 ساعة: {sent}\n"
        "فشل خلال 24 ساعة: {failed}\nمحادثات نشطة: {chats}\nمتابعات: {subs}\n"
        "آخر تحديث للأرشيف: {last}",
        Lang.EN: "<b>Status</b>\nQueued: {pending}\nSent in 24 h: {sent}\nFailed in 24 h: "
        "{failed}\nActive chats: {chats}\nSubscriptions: {subs}\nLast ingest: {last}",
    },
    "sender_running": {
        Lang.AR: "المُرسِل: يعمل منذ {since}",
        Lang.EN: "Sender: running since {since}",
    },
    "sender_restarting": {
        Lang.AR: "المُرسِل: يُعاد تشغيله منذ {since}",
        Lang.EN: "Sender: restarting since {since}",
    },
    "sender_stopped": {
        Lang.AR: "المُرسِل: متوقف",
        Lang.EN: "Sender: stopped",
    },
    "sender_last_error": {
        Lang.AR: "آخر خطأ للمُرسِل ({at}، {restarts} إعادة تشغيل): {error}",
        Lang.EN: "Sender's last error ({at}, {restarts} restarts): {error}",
    },
    "job_failed": {
        Lang.AR: "آخر فشل للمهمة {job} ({at}): {error}",
        Lang.EN: "Job {job} last failed ({at}): {error}",
    },
    "reloaded": {
        Lang.AR: "🔄 التحديث: {summary}",
        Lang.EN: "🔄 Ingest: {summary}",
    },
    # Feeds (operators)
    "addfeed_usage": {
        Lang.AR: "اكتب رابط الخلاصة بعد الأمر، مثل: /addfeed https://example.com/rss",
        Lang.EN: "Put the feed's URL after the command, e.g. /addfeed https://example.com/rss",
    },
    "feed_added": {
        Lang.AR: "✅ أُضيفت الخلاصة {id}: {url}\nستُقرأ خلال دقيقة.",
        Lang.EN: "✅ Feed {id} added: {url}\nIt will be read within a minute.",
    },
    "feed_refused": {
        Lang.AR: "⛔ لا يمكن إضافة هذا الرابط: {reason}",
        Lang.EN: "⛔ This URL cannot be added: {reason}",
    },
    "feed_exists": {
        Lang.AR: "هذه الخلاصة مضافة من قبل (رقمها {id}).",
        Lang.EN: "That feed is listed already (id {id}).",
    },
    "feeds_empty": {
        Lang.AR: "لا خلاصات بعد. أضف واحدة: /addfeed الرابط",
        Lang.EN: "No feeds yet. Add one: /addfeed URL",
    },
    "feeds_header": {Lang.AR: "📡 الخلاصات:", Lang.EN: "📡 Feeds:"},
    "feed_line": {
        Lang.AR: "{id}. {name}\n{url}\n{articles}، {state}",
        Lang.EN: "{id}. {name}\n{url}\n{articles}, {state}",
    },
    "feed_unread": {Lang.AR: "لم تُقرأ بعد", Lang.EN: "not read yet"},
    "feed_ok": {Lang.AR: "آخر قراءة {at}", Lang.EN: "last read {at}"},
    "feed_error": {
        Lang.AR: "⚠️ {errors} إخفاق متتالٍ، آخرها: {error}",
        Lang.EN: "⚠️ {errors} failures in a row, the last: {error}",
    },
    "removefeed_usage": {
        Lang.AR: "اكتب رقم الخلاصة بعد الأمر، مثل: /removefeed 3 (انظر /feeds)",
        Lang.EN: "Put the feed's id after the command, e.g. /removefeed 3 (see /feeds)",
    },
    "feed_removed": {
        Lang.AR: "🗑 حُذفت الخلاصة {id}: {url}\nتبقى مقالاتها في الأرشيف.",
        Lang.EN: "🗑 Feed {id} removed: {url}\nIts articles stay in the archive.",
    },
    "feed_unknown": {
        Lang.AR: "لا خلاصة بهذا الرقم. انظر /feeds",
        Lang.EN: "No feed has that id. See /feeds",
    },
}

# Counted nouns. Arabic: one, two, 3-10, 11-99, other (by the last two digits, as CLDR);
# English: one, other.
PLURALS: dict[str, dict[Lang, tuple[str, ...]]] = {
    "new_articles": {
        Lang.AR: (
            "مقال جديد واحد",
            "مقالان جديدان",
            "{n} مقالات جديدة",
            "{n} مقالاً جديداً",
            "{n} مقال جديد",
        ),
        Lang.EN: ("1 new article", "{n} new articles"),
    },
    "chats": {
        Lang.AR: ("محادثة واحدة", "محادثتين", "{n} محادثات", "{n} محادثة", "{n} محادثة"),
        Lang.EN: ("1 chat", "{n} chats"),
    },
    "articles": {
        Lang.AR: ("مقال واحد", "مقالان", "{n} مقالات", "{n} مقالًا", "{n} مقال"),
        Lang.EN: ("1 article", "{n} articles"),
    },
    "copies": {
        Lang.AR: ("نسخة واحدة", "نسختين", "{n} نسخ", "{n} نسخة", "{n} نسخة"),
        Lang.EN: ("1 copy", "{n} copies"),
    },
}


def counted(lang: Lang, key: str, n: int) -> str:
    """Return n with its noun in the plural form the language needs."""
    forms = PLURALS[key][lang]
    if lang is Lang.EN:
        return (forms[0] if n == 1 else forms[1]).format(n=n)
    rest = n % 100
    if n in (1, 2):
        form = forms[n - 1]
    elif 3 <= rest <= 10:
        form = forms[2]
    elif 11 <= rest <= 99:
        form = forms[3]
    else:
        form = forms[4]
    return form.format(n=n)


def joined(lang: Lang, items: list[str]) -> str:
    """Join items with the language's comma."""
    return t(lang, "list_separator").join(items)


COMMANDS: dict[Lang, list[tuple[str, str]]] = {
    Lang.AR: [
        ("start", "البداية"),
        ("help", "المساعدة"),
        ("latest", "أحدث المقالات"),
        ("sources", "المصادر"),
        ("about", "عن الأرشيف"),
        ("subscribe", "متابعة موضوع"),
        ("subscriptions", "متابعاتي"),
        ("digest", "الموجز اليومي"),
        ("timezone", "المنطقة الزمنية"),
        ("quiet", "ساعات الهدوء"),
    ],
    Lang.EN: [
        ("start", "Start"),
        ("help", "Help"),
        ("latest", "Latest articles"),
        ("sources", "Outlets"),
        ("about", "About the archive"),
        ("subscribe", "Follow a topic"),
        ("subscriptions", "My subscriptions"),
        ("digest", "Daily digest"),
        ("timezone", "Time zone"),
        ("quiet", "Quiet hours"),
    ],
}


def t(lang: Lang, key: str, **values: object) -> str:
    """Return the string for key in lang, with its placeholders filled."""
    text = TEXTS[key][lang]
    return text.format(**values) if values else text


def bot_commands(lang: Lang) -> list[BotCommand]:
    """Return the command menu for a language."""
    return [BotCommand(name, description) for name, description in COMMANDS[lang]]


def lang_of(user: User | None, query: str = "") -> Lang:
    """Choose the reply language: English for English users or Latin-script queries."""
    if user and (user.language_code or "").lower().startswith("en"):
        return Lang.EN
    # Markup, links and mentions are Latin whatever language the words around them are in.
    letters = [c for c in _NOT_WORDS_RE.sub(" ", query) if c.isalpha()]
    if letters and sum("a" <= c.lower() <= "z" for c in letters) > len(letters) / 2:
        return Lang.EN
    return Lang.AR
