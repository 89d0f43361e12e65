"""Search: ranking basics, snippets, and no input ever raising."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.store import Store

HOSTILE = [
    '"',
    '""',
    "'",
    "*",
    "-",
    "^",
    ":",
    "NEAR",
    "NEAR(a b)",
    "AND",
    "OR",
    "NOT",
    "a AND",
    "(",
    ")",
    "((داعش",
    'surface : "x"',
    "stem:داعش",
    "{surface stem}: x",
    "داعش*",
    "-داعش",
    "^داعش",
    "+",
    "داعش OR",
    "NOT داعش",
    "!!! ؟؟؟ ...",
    "🙂🙂",
    "\x00",
    "داعش\x00",
    "ـــ",
    "\u200f\u200e",
    "<b>داعش</b>",
    "&amp;",
    "x" * 10_000,
    "داعش " * 2_000,
    "",
    "   ",
    "٫",
    "#",
    "@",
    "\\",
    "%",
    "_",
    "__",
    "%_%",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_hostile_queries_never_raise(store: Store, query: str) -> None:
    hits = await store.search(query, limit=5)
    assert isinstance(hits, list)


async def test_empty_analysed_query_gives_nothing(store: Store) -> None:
    assert await store.search("!!! ...") == []
    assert await store.search("") == []


async def test_more_query_words_rank_first(store: Store) -> None:
    hits = await store.search("مركز مراقبة واتصالات")
    assert hits[0].doc == "000_d5ad7216e4dfa7f1"
    assert "مركز مراقبة واتصالات" in hits[0].passage
    assert hits[0].score >= hits[-1].score


@pytest.mark.parametrize("rank_all", [8_000, 40, 0])  # rank everything, the rarest, nothing
async def test_word_found_nowhere_leaves_the_rest(
    store: Store, monkeypatch: pytest.MonkeyPatch, rank_all: int
) -> None:
    # Plans for large archives rank only rare concepts; a concept matching nothing must not
    # empty the result, whichever plan the posting-list sizes pick.
    monkeypatch.setattr("search.engine.RANK_ALL_POSTINGS", rank_all)
    hits = await store.search("مركز مراقبة واتصالات submitted")
    assert "مركز مراقبة واتصالات" in hits[0].passage


async def test_snippet_marks_original_words(store: Store) -> None:
    hits = await store.search("جدد هجمات")
    top = hits[0]
    assert "<b>جدَّد</b>" in top.snippet  # diacritics kept in the marked original
    assert top.outlet is None and top.title == "خلال عملية تحرير مدينة دير الزور"


async def test_paging_is_disjoint(store: Store) -> None:
    first = await store.search("دير الزور", limit=5)
    second = await store.search("دير الزور", limit=5, offset=5)
    assert len(first) == 5 and second
    assert not {(h.doc, h.ordinal) for h in first} & {(h.doc, h.ordinal) for h in second}


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=300))
async def test_search_never_raises_on_any_text(store: Store, query: str) -> None:
    hits = await store.search(query, limit=3)
    assert all(h.passage for h in hits)


FILLER = "وقال المتحدث إن الوضع كان هادئا في المنطقة طوال اليوم"


@pytest.mark.parametrize(
    ("docs", "query"),
    [
        # Sixty newer passages hold the two rarest words: the newest of those alone would
        # never reach the oldest passage, the only one holding all three.
        (
            {
                "a_target": f"قلموس بردانة سفرجلي {FILLER}",
                "b_two": "\n\n".join(f"قلموس بردانة {FILLER} {i}" for i in range(60)),
                "c_third": "\n\n".join(f"سفرجلي {FILLER} {i}" for i in range(60)),
                "d_rest": "\n\n".join(f"{FILLER} {i}" for i in range(300)),
            },
            "قلموس بردانة سفرجلي",
        ),
        # Sixty newer passages hold the words of a name apart; only the oldest holds it whole.
        (
            {
                "a_target": f"قصف قرب حقل التيم {FILLER}",
                "b_apart": "\n\n".join(f"حقل {FILLER} التيم {i}" for i in range(60)),
                "c_rest": "\n\n".join(f"{FILLER} {i}" for i in range(300)),
            },
            "حقل التيم",
        ),
    ],
    ids=["every_word", "whole_name"],
)
async def test_oldest_passage_holding_the_whole_query_comes_first(
    empty_store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    docs: dict[str, str],
    query: str,
) -> None:
    # Every word here is too common to rank in SQL.
    monkeypatch.setattr("search.engine.RANK_ALL_POSTINGS", 0)
    for key, text in docs.items():  # ingested in this order: the target is the oldest
        (tmp_path / f"{key}.txt").write_text(text, encoding="utf-8")
        await empty_store.ingest([tmp_path / f"{key}.txt"])
    hits = await empty_store.search(query)
    assert hits[0].doc == "a_target"


@pytest.mark.parametrize(
    ("older", "newer", "query"),
    [
        # The same words in both: only their order and the typed preposition tell them apart.
        ("وصلت دير الزور الرقة قافلة من حمص إلى حماة", "وصلت قافلة من الرقة إلى دير الزور", None),
        ("دمر الطيران مراقبة مركز للتنظيم", "دمر الطيران مركز مراقبة للتنظيم", "مركز مراقبة"),
        # A question's answer: a number near the asked words, the question word nowhere.
        ("قتل مقاتلا آخر في الهجوم", "قتل 40 مقاتلا في الهجوم", "كم مقاتلا قتل في الهجوم؟"),
        ("سقطت القذائف وسط إجراءات مشددة", "سقطت القذائف على حي الجورة", "أين سقطت القذائف؟"),
    ],
    ids=["from_to", "order", "how_many", "where"],
)
async def test_evidence_beats_the_older_passage(
    empty_store: Store, tmp_path: Path, older: str, newer: str, query: str | None
) -> None:
    filler = [f"{FILLER} {i}" for i in range(20)]  # the test words stay rare
    for key, text in (("a_older", older), ("b_newer", newer), ("c_rest", "\n\n".join(filler))):
        (tmp_path / f"{key}.txt").write_text(text, encoding="utf-8")
        await empty_store.ingest([tmp_path / f"{key}.txt"])
    hits = await empty_store.search(query or "قافلة من الرقة إلى دير الزور")
    assert [h.doc for h in hits[:2]] == ["b_newer", "a_older"]


NEWS = {
    # Another article holds the headline's words together in one passage, and more often.
    "a_other": "افتتح وزير الصحة مستشفى جديدا في مدينة تبوك يضم مئتي سرير\n\n"
    "وقال الوزير إن مستشفى تبوك الجديد يضم مئتي سرير وقسما للطوارئ. " * 3,
    "b_target": "وزير الصحة يفتتح مستشفى تبوك الجديد\n\n"
    "دشن الوزير صباح أمس المبنى الذي أنشئ على مساحة واسعة شمال المدينة.",
    "c_similar": "وزير الصحة يفتتح مستشفى الولادة في جدة\n\n"
    "دشن الوزير المبنى الجديد للولادة والأطفال في جدة.",
}


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("وزير الصحة يفتتح مستشفى تبوك الجديد", "b_target"),  # the headline as seen
        ("وزير الصحة يفتتح مستشفى تبوك", "b_target"),  # most of it
        ("وزير الصحة يفتتح مستشفى الولادة في جدة", "c_similar"),
        ("كم سريرا في مستشفى تبوك؟", "a_other"),  # a question is no headline
    ],
)
async def test_a_headline_finds_its_article_first(
    empty_store: Store, tmp_path: Path, query: str, want: str
) -> None:
    paths = [tmp_path / f"{key}.txt" for key in NEWS]
    for path, text in zip(paths, NEWS.values(), strict=True):
        path.write_text(text, encoding="utf-8")
    await empty_store.ingest(paths)
    hits = await empty_store.search(query)
    assert hits[0].doc == want


@pytest.mark.parametrize(
    "query", ["دير الزور", "كم قتيلا في دير الزور؟", "الطيران الروسي", "داعش الرقة"]
)
async def test_results_come_in_the_order_of_their_scores(store: Store, query: str) -> None:
    hits = await store.search(query)
    scores = [h.score for h in hits]
    assert len(hits) > 1 and scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("- أين تقع دير الزور؟ ال", "أين تقع دير الزور؟"),  # a pasted form's list mark and stub
        ("ال ال داعش", "داعش"),
    ],
)
async def test_junk_around_a_question_changes_nothing(
    store: Store, typed: str, meant: str
) -> None:
    got = [(h.doc, h.ordinal) for h in await store.search(typed)]
    assert got and got == [(h.doc, h.ordinal) for h in await store.search(meant)]


async def test_html_entities_in_a_query_are_the_characters_they_stand_for(store: Store) -> None:
    plain = [(h.doc, h.ordinal) for h in await store.search('قنابل "خارقة للتحصينات"')]
    assert plain
    escaped = await store.search("قنابل &quot;خارقة للتحصينات&quot;")
    assert [(h.doc, h.ordinal) for h in escaped] == plain


async def test_every_article_under_a_typed_headline_is_raised(
    empty_store: Store, tmp_path: Path
) -> None:
    # Two outlets ran the same headline over different text; a third article repeats its words.
    docs = {
        "a_first": "«الخدمة المدنية» تعايد منسوبيها\n\nأقامت الوزارة حفلا في مقرها.",
        "b_second": "الخدمة المدنية تعايد منسوبيها\n\nاحتفل الموظفون صباح اليوم بالعيد.",
        "c_words": "قالت الخدمة المدنية إنها تعايد منسوبيها. " * 4,
    }
    paths = [tmp_path / f"{key}.txt" for key in docs]
    for path, text in zip(paths, docs.values(), strict=True):
        path.write_text(text, encoding="utf-8")
    await empty_store.ingest(paths)
    hits = await empty_store.search("«الخدمة المدنية» تعايد منسوبيها")
    assert {h.doc for h in hits[:2]} == {"a_first", "b_second"}


ENCYCLOPAEDIA = {
    # Short headlines name what each article is about; its later paragraphs seldom do.
    "a_lion": "أسد\n\nالأسد حيوان من الثدييات من فصيلة السنوريات يعيش في السافانا.\n\n"
    "يعيش الذكر عادة ما بين 10 و14 سنة في البرية.",
    "b_president": "بشار الأسد\n\n"
    "شهد حكم بشار الأسد احتجاجات واسعة، ووصف الأسد المحتجين بالعصابات.\n\n"
    "ولد بشار حافظ الأسد في دمشق عام 1965 ودرس طب العيون في لندن.",
    "c_club": "نادي الهلال\n\nالهلال نادٍ رياضي سعودي أسس عام 1957 ويلعب في الدوري الممتاز.\n\n"
    "يقع مقر النادي في العاصمة الرياض، وملعبه ملعب الملك فهد الدولي.",
    "d_league": "الدوري السعودي\n\nتتنافس أندية الدوري السعودي على اللقب كل موسم، "
    "ومنها الهلال والنصر والاتحاد، ولكل نادٍ مقر في مدينته.",
}


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("ما هو الأسد؟", "الأسد حيوان"),  # what is X: the passage that opens with X
        ("ما هو الباراسيتامول؟", "الپاراسیتامول"),  # typed as Arabic, written as Persian
        ("كم سنة يعيش الأسد؟", "بين 10 و14 سنة"),  # the article about the asked subject
        ("في أي مدينة مقر نادي الهلال؟", "الرياض"),
    ],
)
async def test_the_article_about_the_asked_subject_answers_first(
    empty_store: Store, tmp_path: Path, query: str, want: str
) -> None:
    docs = ENCYCLOPAEDIA | {"e_drug": "الپاراسیتامول دواء مسكن للألم وخافض للحرارة."}
    filler = [f"{FILLER} {i}" for i in range(20)]  # the test words stay rare
    docs["f_rest"] = "\n\n".join(filler)
    paths = [tmp_path / f"{key}.txt" for key in docs]
    for path, text in zip(paths, docs.values(), strict=True):
        path.write_text(text, encoding="utf-8")
    await empty_store.ingest(paths)
    hits = await empty_store.search(query)
    assert want in hits[0].passage, [h.passage[:60] for h in hits[:3]]
