"""Digests fold near-copies: one item per story, naming the other outlets that reported it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.jobs import alert_not_before
from handlers.render import alert_message, digest_message
from storage.models import Chat, SubscribeResult
from storage.pushes import Digest, DigestItem
from storage.store import Store
from tests.conftest import change

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
STORY = (
    "أعلنت قوات سوريا الديمقراطية اليوم أن طائرات التحالف الدولي قصفت مواقع لتنظيم الدولة في"
    " مدينة الرقة، وقال مراسلون إن الاشتباكات امتدت إلى ريف دير الزور الشرقي قرب البغيلية، فيما"
    " أكد مصدر عسكري أن القوات تقدمت في عدة أحياء شمال المدينة بعد معارك استمرت طوال الليل،"
    " وأشار إلى أن فرق الهندسة بدأت إزالة الألغام من الطرق المؤدية إلى المستشفى الوطني والسوق."
)
# A reprint swaps a word: still a near-copy.
REPRINTS = (STORY, STORY.replace("اليوم", "الثلاثاء"), STORY.replace("الليل", "النهار"))
OTHER = (
    "افتتحت بلدية الرقة سوقاً شعبية جديدة للخضار والفواكه في الحي الشمالي، وأكد رئيس البلدية أن"
    " السوق ستعمل يومياً من الصباح حتى المساء وأن الأسعار ستراقبها لجنة من الأهالي والتجار معاً."
)


def article(title: str, outlet: str | None, body: str) -> str:
    """Return an article in the seeds' format, its outlet on a line of its own."""
    byline = f"{outlet} - متابعات\n\n" if outlet else ""
    return f"{title}\n\n{byline}{body}\n"


async def digest_of(
    store: Store,
    tmp_path: Path,
    articles: list[tuple[str | None, str]],
    limit: int = 10,
    *,
    subscribe: bool = True,
    unsketched: tuple[int, ...] = (),
) -> Digest:
    """Ingest (outlet, body) articles in order, match them, and return chat 1's digest."""
    await store.mark_documents_seen()
    await store.ensure_chat(1, "private", "ar", "Asia/Damascus", NOW)
    if subscribe:
        assert await store.subscribe(1, "الرقة", 50) is SubscribeResult.ADDED
    for n, (outlet, body) in enumerate(articles, 1):
        path = tmp_path / f"news_{n:03d}.txt"
        path.write_text(article(f"تقرير رقم {n}", outlet, body), encoding="utf-8")
        await store.ingest([path])
    if unsketched:
        # Documents ingested before sketches existed have none.
        for i in unsketched:
            await change(store, "UPDATE documents SET sketch = NULL WHERE id = ?", (i,))
    await store.match_new_documents(alert_message, alert_not_before, NOW)
    chat = await store.chat(1)
    assert chat is not None
    return await store.digest_items(chat, limit)


async def test_reprints_are_one_item_naming_the_other_outlets(
    empty_store: Store, tmp_path: Path
) -> None:
    # Outlets that sign "X - متابعات"; "Reuters" there would be read as the agency instead.
    outlets = ("وكالة الفرات", "شبكة الشرق", "Zaman")
    digest = await digest_of(
        empty_store, tmp_path, [*zip(outlets, REPRINTS, strict=True), ("موقع البادية", OTHER)]
    )
    assert [(i.doc_id, i.outlet, i.also, i.also_unnamed) for i in digest.items] == [
        (4, "موقع البادية", (), 0),
        (1, "وكالة الفرات", ("شبكة الشرق", "Zaman"), 0),
    ]
    assert digest.through_doc == 4


async def test_folding_keeps_the_digest_limit_items_long(
    empty_store: Store, tmp_path: Path
) -> None:
    # The newest two documents are one story: two rows would make a one-item digest.
    articles = [("موقع البادية", OTHER), *zip(("أ", "ب", "ج"), REPRINTS, strict=True)]
    digest = await digest_of(empty_store, tmp_path, articles, limit=2)
    assert [(i.doc_id, i.also) for i in digest.items] == [(2, ("ب", "ج")), (1, ())]


async def test_limit_counts_stories_not_documents(empty_store: Store, tmp_path: Path) -> None:
    articles = [*zip(("أ", "ب", "ج"), REPRINTS, strict=True), ("موقع البادية", OTHER)]
    digest = await digest_of(empty_store, tmp_path, articles, limit=1)
    # The newest story is kept whole; the reprints are left out, not split.
    assert [(i.doc_id, i.also) for i in digest.items] == [(4, ())]


async def test_a_document_without_a_sketch_stays_alone(empty_store: Store, tmp_path: Path) -> None:
    articles = list(zip(("أ", "ب", "ج"), REPRINTS, strict=True))
    digest = await digest_of(empty_store, tmp_path, articles, unsketched=(2,))
    # The story ranks where its newest copy does, and is shown by its first.
    assert [(i.doc_id, i.also) for i in digest.items] == [(1, ("ج",)), (2, ())]


async def test_copies_without_or_sharing_the_outlet_are_counted_not_named(
    empty_store: Store, tmp_path: Path
) -> None:
    articles = [("أ", REPRINTS[0]), (None, REPRINTS[1]), ("أ", REPRINTS[2])]
    digest = await digest_of(empty_store, tmp_path, articles)
    assert [(i.doc_id, i.also, i.also_unnamed) for i in digest.items] == [(1, (), 1)]


async def test_latest_articles_digest_folds_too(empty_store: Store, tmp_path: Path) -> None:
    articles = [*zip(("أ", "ب", "ج"), REPRINTS, strict=True), ("د", OTHER)]
    digest = await digest_of(empty_store, tmp_path, articles, subscribe=False)
    assert [(i.doc_id, i.also) for i in digest.items] == [(4, ()), (1, ("ب", "ج"))]


async def test_rendered_digest_says_who_else_reported_it(
    empty_store: Store, tmp_path: Path
) -> None:
    articles = [*zip(("وكالة الفرات", "شبكة الشرق", "Zaman"), REPRINTS, strict=True)]
    digest = await digest_of(empty_store, tmp_path, articles)
    rendered = digest_message(_chat("en"), list(digest.items), ("الرقة",))
    assert rendered is not None
    text = _plain(rendered[0])
    assert "1 new article" in text
    assert "📑 Also reported by: <i>شبكة الشرق</i>, <i>Zaman</i>" in text


def _chat(lang: str) -> Chat:
    return Chat(1, "private", lang, "UTC", "08:00", None, None, True, "2026-01-01T00:00:00Z")


def _plain(text: str) -> str:
    """Drop the direction marks, to compare the words."""
    return text.translate(dict.fromkeys(map(ord, "\u2068\u2069\u200f")))


SEVEN = ("A", "B", "C", "D", "E", "F", "G")
FIVE = "<i>A</i>, <i>B</i>, <i>C</i>, <i>D</i>, <i>E</i>"
EN, AR = "📑 Also reported by: ", "📑 نقله أيضاً: "
TAGGED, ESCAPED = "<b>Sham</b> & Co", "<i>&lt;b&gt;Sham&lt;/b&gt; &amp; Co</i>"


@pytest.mark.parametrize(
    ("lang", "also", "unnamed", "line"),
    [
        ("en", (), 0, None),
        ("ar", (), 0, None),
        ("en", ("شبكة الشرق", "Reuters"), 0, EN + "<i>شبكة الشرق</i>, <i>Reuters</i>"),
        ("ar", ("شبكة الشرق", "Reuters"), 0, AR + "<i>شبكة الشرق</i>، <i>Reuters</i>"),
        ("en", ("A",), 1, EN + "<i>A</i> +1"),
        ("ar", ("A",), 1, AR + "<i>A</i> +1"),
        ("en", SEVEN, 0, EN + FIVE + " +2"),
        ("en", SEVEN, 1, EN + FIVE + " +3"),
        ("en", (), 2, "📑 Also reported elsewhere (+2)"),
        ("ar", (), 1, "📑 نُشر أيضاً في مصادر أخرى (+1)"),
        ("en", (TAGGED,), 0, EN + ESCAPED),
        ("ar", (TAGGED,), 0, AR + ESCAPED),
    ],
)  # fmt: skip
def test_digest_item_names_its_copies_outlets(
    lang: str, also: tuple[str, ...], unnamed: int, line: str | None
) -> None:
    item = DigestItem(1, "عنوان", "وكالة الفرات", "قصف على الرقة", 1, None, None, also, unnamed)
    rendered = digest_message(_chat(lang), [item], ("الرقة",))
    assert rendered is not None
    lines = _plain(rendered[0]).split("\n")
    found = [text for text in lines if text.startswith("📑")]
    assert found == ([line] if line else [])
    assert "<b>Sham" not in rendered[0]
