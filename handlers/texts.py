"""Every user-facing string, in Arabic and English. Placeholders take escaped HTML."""

from __future__ import annotations

from enum import StrEnum

from telegram import BotCommand, User


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
        "• في المجموعات: اذكرني أو ردّ على رسالتي.\n\n"
        "/latest أحدث المقالات\n/sources المصادر\n/about عن الأرشيف",
        Lang.EN: "<b>How to use Furat</b>\n"
        "• Type a question or search words, in Arabic or English.\n"
        "• “📄 Full article” opens the article; “Next ◀” shows more results.\n"
        "• In any chat: type <code>@{bot} your words</code>.\n"
        "• In groups: mention me or reply to my message.\n\n"
        "/latest newest articles\n/sources outlets\n/about the archive",
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
    "archive_empty": {Lang.AR: "الأرشيف فارغ حالياً.", Lang.EN: "The archive is empty."},
    "results_header": {
        Lang.AR: "🔎 نتائج «{query}» ({first}–{last})",
        Lang.EN: "🔎 Results for “{query}” ({first}–{last})",
    },
    "no_results": {
        Lang.AR: "لم أجد شيئاً عن «{query}».",
        Lang.EN: "Nothing found for “{query}”.",
    },
    "did_you_mean": {Lang.AR: "هل تقصد: {words}؟", Lang.EN: "Did you mean: {words}?"},
    "try_entities": {Lang.AR: "جرّب مثلاً: {names}", Lang.EN: "Try for example: {names}"},
    "empty_query": {
        Lang.AR: "اكتب كلمات للبحث، بالعربية أو الإنجليزية.",
        Lang.EN: "Type some words to search, in Arabic or English.",
    },
    "full_article": {Lang.AR: "📄 المقال كاملاً", Lang.EN: "📄 Full article"},
    "next": {Lang.AR: "التالي ◀", Lang.EN: "Next ▶"},
    "previous": {Lang.AR: "▶ السابق", Lang.EN: "◀ Previous"},
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
        Lang.AR: "تمهّل قليلاً من فضلك، سأجيب عن رسائلك بعد لحظات. ⏳",
        Lang.EN: "Please slow down a little; I will answer again in a moment. ⏳",
    },
    "error": {
        Lang.AR: "عذراً، حدث خطأ ما. حاول مرة أخرى بعد قليل.",
        Lang.EN: "Sorry, something went wrong. Please try again shortly.",
    },
    "by_outlet": {Lang.AR: "المصدر: {outlet}", Lang.EN: "Source: {outlet}"},
    "alert_header": {Lang.AR: "🔔 خبر جديد يطابق متابعتك", Lang.EN: "🔔 New article for you"},
    "alert_topics": {Lang.AR: "متابعاتك: {topics}", Lang.EN: "Following: {topics}"},
    "digest_header": {
        Lang.AR: "🗞 موجزك: {count} من المقالات الجديدة",
        Lang.EN: "🗞 Your digest: {count} new articles",
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
        Lang.EN: "You reached the limit of {limit} subscriptions. Remove some: /subscriptions",
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
    "not_subscribed": {Lang.AR: "لا متابعة بهذا الاسم.", Lang.EN: "No such subscription."},
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
        Lang.AR: "📣 أُضيفت الرسالة إلى {count} محادثة.",
        Lang.EN: "📣 Message queued for {count} chats.",
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
}

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
    letters = [c for c in query if c.isalpha()]
    if letters and sum("a" <= c.lower() <= "z" for c in letters) > len(letters) / 2:
        return Lang.EN
    return Lang.AR
