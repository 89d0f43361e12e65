"""Near-copies: shingles and Jaccard, folded search results, their cards, one alert per story."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.jobs import run_tick
from handlers.render import result_cards
from handlers.texts import Lang
from search.analysis import tokens
from search.nearcopy import (
    NEAR,
    corroborated,
    fold,
    jaccard,
    near,
    resemblance,
    shingled,
    shingles,
    sketch,
    stories,
    unpack,
)
from search.results import Copy, SearchHit
from storage.backends import open_store
from storage.pushes import _Stories
from storage.store import Store
from tests.conftest import furat

ORIGINAL = """مجلس المحافظة يقر خطة لإعادة تأهيل محطة المياه

الرقة (وكالة الفرات) - أقر مجلس محافظة الرقة اليوم خطة لإعادة تأهيل محطة المياه الرئيسية \
في المدينة بكلفة تبلغ مليوني دولار، على أن تبدأ الأعمال مطلع الشهر المقبل وتستمر ستة أشهر.

وقال رئيس المجلس إن المحطة تخدم أكثر من مئتي ألف نسمة في الأحياء الشرقية والغربية، وإن \
الخطة تشمل تبديل المضخات القديمة ومد خطوط جديدة إلى القرى المجاورة."""

# Another outlet, another headline, a number changed.
REPRINT = """مليونا دولار لمحطة مياه الرقة

الرقة (شبكة النهر) - أقر مجلس محافظة الرقة اليوم خطة لإعادة تأهيل محطة المياه الرئيسية \
في المدينة بكلفة تبلغ مليوني دولار، على أن تبدأ الأعمال مطلع الشهر المقبل وتستمر سبعة أشهر.

وقال رئيس المجلس إن المحطة تخدم أكثر من مئتي ألف نسمة في الأحياء الشرقية والغربية، وإن \
الخطة تشمل تبديل المضخات القديمة ومد خطوط جديدة إلى القرى المجاورة."""

OTHER = """حلب تفتتح محطة مياه جديدة

حلب (وكالة الشهباء) - افتتحت مديرية الموارد المائية في حلب محطة المياه الجديدة شمال المدينة \
بعد عامين من العمل، وقالت إنها ستضخ ثلاثين ألف متر مكعب يومياً إلى الأحياء المحرومة.

وأضافت المديرية أن المحطة تعمل بالطاقة الشمسية نهاراً وبالمولدات ليلاً حتى إصلاح خطوط \
الكهرباء."""


def words(text: str) -> list[str]:
    return tokens(text)


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("واحد", 1), ("واحد اثنان", 1), ("أ ب ت", 1), ("أ ب ت ث", 2), ("a b a b a", 2)],
)
def test_shingles_are_word_triples(text: str, count: int) -> None:
    assert len(shingles(words(text))) == count


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("a b c d e", "a b c d e", 1.0),
        ("a b c d e", "a b c d f", 2 / 4),  # c d e / c d f: two shared of four
        ("a b c d e", "v w x y z", 0.0),
        ("", "", 1.0),
        ("a b c", "", 0.0),
        ("المحطة تخدم أكثر", "المحطة تخدم أكثر", 1.0),
        ("المحطة تخدم أكثر", "المحطه تخدم اكثر", 1.0),  # the same words once normalised
    ],
)
def test_jaccard(a: str, b: str, expected: float) -> None:
    assert jaccard(shingles(words(a)), shingles(words(b))) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (ORIGINAL, REPRINT, True),
        (ORIGINAL, ORIGINAL, True),
        (ORIGINAL, OTHER, False),
        (ORIGINAL, " ".join(ORIGINAL.split()[: len(ORIGINAL.split()) // 3]), False),  # a third
    ],
)
def test_near(a: str, b: str, expected: bool) -> None:
    assert near(shingles(words(a)), shingles(words(b))) is expected


@pytest.mark.parametrize(
    ("texts", "leaders", "expected"),
    [
        (["a b c d", "a b c d", "x y z w"], 5, [(0, [1]), (2, [])]),
        (["a b c d", "x y z w", "a b c d"], 1, [(0, [2])]),  # copies of a leader past the limit
        (["a b c d", "x y z w", "x y z w"], 1, [(0, [])]),  # are not collected
        ([], 3, []),
    ],
)
def test_fold(texts: list[str], leaders: int, expected: list[tuple[int, list[int]]]) -> None:
    assert fold([shingled(t.split()) for t in texts], leaders) == expected


@pytest.mark.parametrize(
    ("a", "b", "low", "high"), [(ORIGINAL, REPRINT, 0.6, 1.0), (ORIGINAL, OTHER, 0.0, 0.1)]
)
def test_sketches_estimate_jaccard(a: str, b: str, low: float, high: float) -> None:
    first, second = (unpack(sketch(p.split() for p in t.split("\n\n"))) for t in (a, b))
    assert low <= resemblance(first, second) <= high
    assert unpack(sketch([words(a)])) == unpack(sketch([words(a)]))  # stable: it is stored
    assert unpack(None) == frozenset()


async def _archive(store: Store, tmp_path: Path, **articles: str) -> None:
    for name, text in articles.items():
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    await store.ingest([tmp_path / f"{name}.txt" for name in articles])


async def test_reprint_is_folded_into_one_result(empty_store: Store, tmp_path: Path) -> None:
    await _archive(empty_store, tmp_path, a_original=ORIGINAL, b_reprint=REPRINT, c_other=OTHER)
    query = "إعادة تأهيل محطة المياه"
    hits = await empty_store.search(query, limit=10)
    # Each paragraph of the story is one result, whichever document holds it.
    story = [h for h in hits if h.doc in ("a_original", "b_reprint")]
    assert sorted(h.ordinal for h in story) == [0, 1], [(h.doc, h.ordinal) for h in hits]
    for hit in story:
        other = "b_reprint" if hit.doc == "a_original" else "a_original"
        assert [(c.doc, c.outlet) for c in hit.copies] == [
            (other, "شبكة النهر" if other == "b_reprint" else "وكالة الفرات")
        ]
    assert all(not h.copies for h in hits if h.doc == "c_other")
    # Paging on from the first result does not show its copy.
    rest = await empty_store.search(query, limit=10, offset=1)
    assert [(h.doc, h.ordinal) for h in rest] == [(h.doc, h.ordinal) for h in hits[1:]]


async def test_subscribe_preview_folds_copies(empty_store: Store, tmp_path: Path) -> None:
    await _archive(empty_store, tmp_path, a_original=ORIGINAL, b_reprint=REPRINT)
    hits = await empty_store.would_alert("مجلس محافظة الرقة", limit=2)
    assert len(hits) == 1 and len(hits[0].copies) == 1


def test_search_json_lists_copies(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a_original.txt").write_text(ORIGINAL, encoding="utf-8")
    (folder / "b_reprint.txt").write_text(REPRINT, encoding="utf-8")
    db = tmp_path / "f.db"
    assert furat(["ingest", str(folder)], db).returncode == 0
    proc = furat(["search", "--json", "--limit", "5", "إعادة تأهيل محطة المياه"], db)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.splitlines()[-1])["results"]
    story = [r for r in results if r["doc"] in ("a_original", "b_reprint")]
    assert len(story) == 2  # one per paragraph
    fields = {"doc", "title", "outlet", "agency", "passage", "score", "url", "published"}
    for result in story:
        other = "b_reprint" if result["doc"] == "a_original" else "a_original"
        assert [c["doc"] for c in result["copies"]] == [other]
        assert set(result) == fields | {"copies"}
    assert all(set(r) == fields for r in results if r not in story)


def _hit(copies: tuple[Copy, ...]) -> SearchHit:
    return SearchHit(1, "k", "عنوان", "وكالة", "نص", 0, 1.0, "نص", copies=copies)


@pytest.mark.parametrize(
    ("lang", "copies", "expected"),
    [
        (Lang.EN, (), None),
        (Lang.EN, (Copy(2, "b", "t", "Outlet B"),), "📑 Also in: <i>Outlet B</i> (1 copy)"),
        (
            Lang.EN,
            (Copy(2, "b", "t", "B"), Copy(3, "c", "t", "B"), Copy(4, "d", "t", None)),
            "📑 Also in: <i>B</i> (3 copies)",
        ),
        (Lang.EN, (Copy(2, "b", "t", None),), "📑 Also in 1 copy"),
        (
            Lang.AR,
            (Copy(2, "b", "t", "شبكة"), Copy(3, "c", "t", "سانا")),
            "<i>شبكة</i>، <i>سانا</i> (نسختين)",
        ),
    ],
)
def test_card_names_the_other_outlets(
    lang: Lang, copies: tuple[Copy, ...], expected: str | None
) -> None:
    card = result_cards([_hit(copies)], 1, lang)
    if expected is None:
        assert "📑" not in card
    else:
        assert expected in card


# --- one alert per story ---------------------------------------------------------------------


async def _subscribe(store: Store, chat_id: int, query: str, now: datetime) -> None:
    await store.ensure_chat(chat_id, "private", "ar", "UTC", now)
    await store.subscribe(chat_id, query, 50)


async def _alerted(store: Store, now: datetime) -> list[tuple[int, str]]:
    return sorted((p.chat_id, p.key.rsplit(":", 1)[1]) for p in await store.claim_due(now, 100))


async def _doc_ids(store: Store) -> dict[str, str]:
    return {d.key: str(d.id) for d in await store.latest(100)}


async def test_a_near_copy_of_an_alerted_story_is_not_alerted_again(
    empty_store: Store, tmp_path: Path
) -> None:
    store, now = empty_store, datetime.now(UTC)
    await store.mark_documents_seen()
    await _subscribe(store, 1, "محطة المياه", now)
    await _archive(store, tmp_path, a_original=ORIGINAL)
    assert await run_tick(store, Settings(), now) == 1
    await _subscribe(store, 2, "محطة المياه", now)  # joins after the story was alerted
    await _archive(store, tmp_path, b_reprint=REPRINT)
    await _archive(store, tmp_path, c_other=OTHER)
    await run_tick(store, Settings(), now)
    ids = await _doc_ids(store)
    assert await _alerted(store, now) == sorted(
        [
            (1, ids["a_original"]),
            (1, ids["c_other"]),  # another story still alerts
            (2, ids["b_reprint"]),  # chat 2 never had the story: the copy is its first alert
            (2, ids["c_other"]),
        ]
    )


async def test_copies_arriving_together_alert_once(empty_store: Store, tmp_path: Path) -> None:
    store, now = empty_store, datetime.now(UTC)
    await store.mark_documents_seen()
    await _subscribe(store, 1, "محطة المياه", now)
    await _subscribe(store, 2, "الرقة", now)
    await _archive(store, tmp_path, a_original=ORIGINAL, b_reprint=REPRINT, c_other=OTHER)
    # Two processes match at once: whichever matches what, each chat gets the story once.
    other = await open_store(store.path)
    try:
        await asyncio.gather(run_tick(store, Settings(), now), run_tick(other, Settings(), now))
    finally:
        await other.close()
    ids = await _doc_ids(store)
    assert await _alerted(store, now) == sorted(
        [(1, ids["a_original"]), (1, ids["c_other"]), (2, ids["a_original"])]
    )


async def test_copies_button_lists_the_folded_articles(tmp_path: Path) -> None:
    from bot.app import build_application, running
    from bot.loopback import LoopbackRequest
    from tests.test_handlers import TOKEN, Bot, buttons, sends

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a_original.txt").write_text(ORIGINAL, encoding="utf-8")
    (folder / "b_reprint.txt").write_text(REPRINT, encoding="utf-8")
    settings = Settings(token=TOKEN, db_path=tmp_path / "bot.db", seeds=folder)
    request = LoopbackRequest()
    app = build_application(settings, request)
    async with running(app):
        bot = Bot(app, request)
        [call] = sends(await bot.send(bot.user.text("إعادة تأهيل محطة المياه")))
        assert "📑 ورد أيضاً في:" in call["text"]
        [(label, data), *_] = [(text, d) for text, d in buttons(call) if text.startswith("📑")]
        assert label == "📑 نسخة واحدة (1)" and data.startswith("c:")
        calls = await bot.send(bot.user.press(call["_result"], data))
        [listing] = sends(calls)
        # The result's headline, then the copy's: the two articles of the story.
        assert "مليونا دولار لمحطة مياه الرقة" in listing["text"]
        assert "مجلس المحافظة يقر خطة" in listing["text"]
        [(_, article)] = buttons(listing)
        opened = sends(await bot.send(bot.user.press(listing["_result"], article)))
        assert opened and "مجلس محافظة الرقة" in opened[0]["text"]
        # A forged or stale copies button gets the polite answer.
        stale = await bot.send(bot.user.press(call["_result"], "c:999999:0"))
        assert any(c["method"] == "answerCallbackQuery" and c.get("show_alert") for c in stale)


@pytest.mark.parametrize(
    ("copies", "factor"), [(0, 1.0), (1, 1.15), (3, 1.3), (1000, 1.5)]
)
def test_corroboration_grows_with_copies_and_is_capped(copies: int, factor: float) -> None:
    assert corroborated(copies) == pytest.approx(factor)


@pytest.mark.parametrize(
    ("scores", "shown"),
    [
        # The copy scoring best is shown: it may be the version that holds the answer.
        ([10.0, 9.0, 5.0, 4.0, 3.0], 1),
        # Copies the query ranks alike (within TIE of the best) show the first version.
        ([10.0, 9.0, 8.5, 8.0, 7.5], 3),
    ],
)
def test_a_story_is_shown_by_its_best_passage_and_ordered_by_corroboration(
    scores: list[float], shown: int
) -> None:
    words = tokens("قصفت الطائرات مواقع التنظيم قرب الجسر القديم في المدينة صباح اليوم")
    other = tokens("افتتحت البلدية سوقا جديدة للخضار في الحي الشمالي من المدينة امس")
    texts = [other, words, [*words[:-1], "امس"], ["ضربت", *words[1:]], words]
    ages = [50, 40, 30, 10, 20]  # the passage at index 3 was filed first
    grams = [shingled(t) for t in texts]
    found = stories(fold(grams, len(grams)), grams, scores, ages, wanted=2)
    # Four copies: 9 x 1.3 outranks the lone 10, and the story's score is the one it ranks by.
    assert found[0].shown == shown
    assert sorted([found[0].shown, *found[0].copies]) == [1, 2, 3, 4]
    assert found[0].score == pytest.approx(9.0 * corroborated(3))
    assert found[1] == (0, [], 10.0)


async def test_reprints_crowding_the_candidates_do_not_hide_other_stories(
    empty_store: Store, tmp_path: Path
) -> None:
    # Sixty outlets reprint one short item that repeats the query's words; FTS5's bm25
    # prefers it, so its copies alone would fill the first candidates read.
    reprint = "مستودع الذخيرة: قصف الطيران مستودع الذخيرة وقصف الطيران مستودع الذخيرة"
    other = (
        "وقال الأهالي إن الطائرات حلقت طويلا فوق الأحياء الشرقية ثم قصف الطيران مستودع"
        " الذخيرة الرئيسي قرب الجسر القديم، وسط حالة من الهلع بين السكان والنازحين."
    )
    articles = {
        f"r{i:02}": f"خبر عاجل رقم {i}\n\n{reprint}\n\nتحديث رقم {i} من وكالة أنباء محلية في حلب."
        for i in range(60)
    }
    await _archive(empty_store, tmp_path, **articles, z_other=f"تقرير من المدينة\n\n{other}")
    hits = await empty_store.search("قصف الطيران مستودع الذخيرة", limit=5)
    assert "z_other" in [h.doc for h in hits], [(h.doc, len(h.copies)) for h in hits]
    assert sum(h.doc.startswith("r") for h in hits) == 1  # the reprints are one story


def test_stories_find_every_near_copy_the_sketches_admit() -> None:
    # Every sketch holds a few hashes common to all, as common phrases are in an archive; the
    # shortcut must find the pairs a comparison with each one finds, and compare fewer.
    rng = random.Random(7)
    common = list(range(20))
    pool = list(range(20, 20_000))
    base = [frozenset(common[:8] + rng.sample(pool, 56)) for _ in range(40)]
    sketches = []
    for original in base:
        sketches.append(original)
        for swapped in (8, 20, 40):  # near-copies, borderline ones and far ones
            kept = rng.sample(sorted(original), 64 - swapped)
            sketches.append(frozenset(kept) | frozenset(rng.sample(pool, swapped)))
        sketches.append(frozenset(common[:2] + rng.sample(pool, rng.randint(1, 30))))  # short
    stories = _Stories()
    for doc_id, each in enumerate(sketches):
        stories.add(doc_id, each)
    for mine in sketches:
        truth = {d for d, other in enumerate(sketches) if resemblance(mine, other) >= NEAR}
        assert truth <= stories.sharing(mine)
    anyone = sum(len({d for h in s for d in stories.index[h]}) for s in sketches)
    assert sum(len(stories.sharing(s)) for s in sketches) < 0.2 * anyone


def test_a_copy_that_extends_the_first_version_is_shown() -> None:
    # A paragraph carried on in a later copy (the answer in its added sentence), scoring
    # alike: the reader needs the longer one. A rewrite that changes words extends nothing.
    first = tokens("ولد الرئيس في المدينة عام 1954 وهو رئيس البلاد منذ عام 2014 بعد انتخابات")
    longer = first + tokens("ورئيس وزرائها منذ 2003")
    rewrite = [*first[:6], "ايضا", *first[6:], "كذلك"]
    texts = [first, longer, rewrite]
    grams = [shingled(t) for t in texts]
    found = stories(fold(grams, 3), grams, [9.0, 8.5, 8.8], [1, 2, 3], wanted=1)
    assert found[0].shown == 1
    found = stories(fold(grams[::2], 2), grams[::2], [9.0, 8.8], [1, 3], wanted=1)
    assert found[0].shown == 0
