"""Subscriptions against new documents: one alert per (chat, document), indexed matching."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.jobs import alert_not_before, run_tick
from search.lexicon import load_lexicon
from search.matching import PassageKeys, TopicIndex, compile_plan, satisfies
from search.query import plan_query
from storage.backends import open_store
from storage.models import SubscribeResult
from storage.store import Store
from tests.conftest import SEEDS

TOPICS = ["الرقة", "كاليبر الفرقاطة", "Peskov", "داعش"]
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # 12:00 in Damascus
NEW_ARTICLE = """قصف على الرقة وريف دير الزور

أعلنت قوات سوريا الديمقراطية، اليوم، أن طائرات التحالف قصفت مواقع لتنظيم الدولة في مدينة الرقة.

وقال مراسلون إن الاشتباكات امتدت إلى ريف دير الزور الشرقي قرب البغيلية."""


async def _rows(store: Store) -> list[tuple[str, int, str]]:
    return [row async for row in store.sent_pushes()]


async def add_chat(store: Store, chat_id: int, *queries: str, **settings: object) -> None:
    await store.ensure_chat(chat_id, "private", "ar", "Asia/Damascus", NOW)
    if settings:
        await store.update_chat(chat_id, **settings)
    for q in queries:
        assert await store.subscribe(chat_id, q, 50) is SubscribeResult.ADDED


async def ingest(
    store: Store, tmp_path: Path, name: str = "new_001", text: str = NEW_ARTICLE
) -> None:
    path = tmp_path / f"{name}.txt"
    path.write_text(text, encoding="utf-8")
    await store.ingest([path])


async def test_one_alert_per_chat_and_document(store: Store, tmp_path: Path) -> None:
    await store.mark_documents_seen()
    await add_chat(store, 1, "الرقة", "قسد", "التحالف الدولي", "Raqqa", "البغلية")
    await add_chat(store, 2, "Raqqa")  # English finds the Arabic article
    await add_chat(store, 3, "كاليبر")  # no match
    await ingest(store, tmp_path)
    written = await run_tick(store, Settings(), NOW)
    rows = await _rows(store)
    assert written == 2
    assert sorted(chat for _, chat, _ in rows) == [1, 2]
    (alert,) = [p for p in await store.claim_due(NOW, 10) if p.chat_id == 1]
    for q in ("الرقة", "قسد", "Raqqa", "البغلية"):
        assert q in alert.text
    assert alert.reply_markup and "inline_keyboard" in alert.reply_markup
    # Running again writes nothing: the mark moved and keys are unique.
    assert await run_tick(store, Settings(), NOW) == 0


async def test_existing_documents_are_not_news(store: Store) -> None:
    await store.mark_documents_seen()
    await add_chat(store, 1, "دير الزور")
    assert await run_tick(store, Settings(), NOW) == 0


async def test_quiet_hours_delay_alerts(store: Store, tmp_path: Path) -> None:
    await store.mark_documents_seen()
    await add_chat(store, 1, "الرقة", quiet_start="11:00", quiet_end="13:00")
    await ingest(store, tmp_path)
    await run_tick(store, Settings(), NOW)
    assert await store.claim_due(NOW, 10) == []
    due = await store.claim_due(NOW + timedelta(hours=1), 10)  # 13:00 Damascus
    assert [p.chat_id for p in due] == [1]
    chat = await store.chat(1)
    assert chat is not None and alert_not_before(chat, NOW) == NOW + timedelta(hours=1)


async def test_inactive_chat_gets_no_alert_until_active(store: Store, tmp_path: Path) -> None:
    await store.mark_documents_seen()
    await add_chat(store, 1, "الرقة")
    await store.set_active(1, False)
    await ingest(store, tmp_path)
    assert await run_tick(store, Settings(), NOW) == 0
    await store.set_active(1, True)
    await ingest(store, tmp_path, "new_002")
    assert await run_tick(store, Settings(), NOW) == 1


async def test_subscription_limit_and_duplicates(store: Store) -> None:
    await store.ensure_chat(5, "private", "ar", "UTC", NOW)
    for i in range(3):
        assert await store.subscribe(5, f"موضوع {i}", 3) is SubscribeResult.ADDED
    assert await store.subscribe(5, "موضوع 9", 3) is SubscribeResult.LIMIT
    assert await store.subscribe(5, "موضوع  1", 3) is SubscribeResult.EXISTS
    assert await store.subscribe(5, "؟؟ !!", 3) is SubscribeResult.EMPTY
    assert await store.unsubscribe(5, query="موضوع 1")
    assert [s.query for s in await store.subscriptions(5)] == ["موضوع 0", "موضوع 2"]


async def test_group_migration_keeps_subscriptions(store: Store) -> None:
    await add_chat(store, -100, "الرقة")
    await store.migrate_chat(-100, -1001234)
    assert [s.query for s in await store.subscriptions(-1001234)] == ["الرقة"]
    assert await store.chat(-100) is None


async def test_digest_lists_new_matching_articles_once(store: Store, tmp_path: Path) -> None:
    await store.mark_documents_seen()
    await add_chat(
        store, 1, "الرقة", digest_time="08:00", last_digest_at=(NOW - timedelta(days=1)).isoformat()
    )
    await add_chat(
        store,
        2,
        digest_time="08:00",  # no subscriptions: the latest articles
        last_digest_at=(NOW - timedelta(days=1)).isoformat(),
    )
    await ingest(store, tmp_path)
    await run_tick(store, Settings(), NOW)
    keys = [key for key, _, _ in await _rows(store)]
    assert "digest:1:2026-11-22T05:00:00.000+00:00" in keys
    assert "digest:2:2026-11-22T05:00:00.000+00:00" in keys
    await run_tick(store, Settings(), NOW + timedelta(minutes=5))
    assert len([k for k, _, _ in await _rows(store) if k.startswith("digest")]) == 2


async def test_empty_digest_is_not_sent(store: Store) -> None:
    # The seeds were ingested just now, so a digest from now on has nothing new to say.
    now = datetime.now(UTC)
    await add_chat(store, 1, "الرقة", digest_time="08:00", last_digest_at=now.isoformat())
    await run_tick(store, Settings(), now + timedelta(days=1))
    assert not [k for k, _, _ in await _rows(store) if k.startswith("digest")]
    chat = await store.chat(1)
    assert chat is not None and chat.last_digest_at > now.isoformat()


async def test_index_only_checks_candidates(store: Store) -> None:
    vocab = await store._vocabulary()
    lex = load_lexicon()
    index = TopicIndex()
    plans = {q: json.dumps(compile_plan(plan_query(q, vocab, lex), vocab)) for q in TOPICS}
    for q in [*TOPICS, "Peskov"]:  # a topic added twice is indexed once
        index.add(plans[q])
    passage = PassageKeys.of(["وقال", "بيسكوف", "ان", "الفرقاطه"], ["قال", "بيسكوف", "ان", "فرقاط"])
    assert index.matches(passage) == {plans["Peskov"]}
    assert not satisfies(json.loads(plans["كاليبر الفرقاطة"]), passage)  # every concept counts


async def test_chats_following_the_same_topics_share_one_content(
    store: Store, tmp_path: Path
) -> None:
    await store.mark_documents_seen()
    await add_chat(store, 1, "الرقة", "البغلية")
    await add_chat(store, 2, "الرقة", "البغلية")
    await add_chat(store, 3, "الرقة", "البغلية", language="en")
    await add_chat(store, 4, "البغلية")
    both = "\n\nوقال مراسلون إن طائرات قصفت الرقة ثم البغيلية في ريف دير الزور."
    await ingest(store, tmp_path, text=NEW_ARTICLE + both)
    assert await run_tick(store, Settings(), NOW) == 4
    alerts = {p.chat_id: p for p in await store.claim_due(NOW, 10)}
    assert alerts[1].text == alerts[2].text != alerts[3].text
    # Both topics are in the second paragraph, which beats the first that only has Raqqa.
    assert "ثم البغيلية" in alerts[1].text and "قصفت مواقع" not in alerts[1].text
    # The first passage that has its one topic.
    assert "قرب البغيلية" in alerts[4].text and "«الرقة»" not in alerts[4].text
    assert alerts[3].text.startswith("🔔 New article") and "ثم البغيلية" in alerts[3].text


async def test_seeds_store_fixture_is_fresh(tmp_path: Path) -> None:
    s = await open_store(tmp_path / "x.db", seeds=SEEDS)
    try:
        assert (await s.queue_status(NOW)).pending == 0
    finally:
        await s.close()
