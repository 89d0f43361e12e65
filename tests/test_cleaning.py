"""Cleaning: page furniture out, title and outlet found, passages pinned for every seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.cleaning import clean_article, split_long

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

# key: (title, outlet, passage count, first passage starts, last passage starts)
PINNED = {
    "000_d5ad7216e4dfa7f1": (
        "خلال عملية تحرير مدينة دير الزور",
        None,
        12,
        'جدَّد تنظيم "داعش" فجر اليوم',
        "وأعلنت وزارة الدفاع الروسية، اليوم الثلاثاء",
    ),
    "001_0aea0dda11806ef6": (
        "الجيش السوري يحرز تقدما واسعاً في دير الزور ويسيطر على مناطق جديدة",
        "القدس دوت كوم",
        10,
        'دمشق - "القدس" دوت كوم- حققت وحدات',
        "وتعتبر دير الزور آخر معقل رئيسي",
    ),
    "002_ed2df22646606838": (
        'مع انشغال قوات الرئيس السوري بشار الأسد بآخر جيب يسيطر عليه "داعش"…',
        None,
        9,
        "مع انشغال قوات الرئيس السوري",
        'دولياً، ذكرت مجلة "دير شبيغل"',
    ),
    "003_33acb2cd45bdbf0a": (
        "انتصارات كبيرة لتنظيم الدولة في دير الزور , ومقتل قيادي للتنظيم في معارك المدينة",
        None,
        9,
        "تشهد مدينة دير الزور معارك عنيفة",
        "والجدير بالذكر أن هالة هلع",
    ),
    "004_e7ca63b51393100c": (
        "روسيا تقول إنّها قتلت أمير ديرالزور، وقسد تعلن بدء العمليّات نحو ديرالزور",
        "راديو ألوان",
        15,
        "قالت وزارة الدفاع الروسية، إنّ مقاتلاتها",
        'إلى ذلك، قُتِلَ الطبيب "عمار الحسين',
    ),
}

FURNITURE = [
    "Ad",
    "مقالات ذات صلة",
    "زر الذهاب إلى الأعلى",
    "الوسوم",
    "التعليقات",
    "تابعنا على",
    "الشأن السوري",
    "غرفة الاخبار",
    "#الجبهة_الجنوبية",
]


@pytest.mark.parametrize("key", sorted(PINNED))
def test_seed_is_pinned(key: str) -> None:
    title, outlet, count, first, last = PINNED[key]
    article = clean_article((SEEDS / f"{key}.txt").read_text(encoding="utf-8"))
    assert article.title == title
    assert article.outlet == outlet
    assert len(article.passages) == count
    assert article.passages[0].text.startswith(first)
    assert article.passages[-1].text.startswith(last)
    for line in article.text.split("\n\n"):
        assert line not in FURNITURE
        assert not any(line.startswith(f) for f in FURNITURE[1:])
    # Offsets point into the cleaned text.
    for p in article.passages:
        assert article.text[p.offset : p.offset + len(p.text)] == p.text


def test_wrapped_lines_are_joined_and_sentence_lines_split() -> None:
    raw = "عنوان الخبر\n\nهذا سطر\nمكسور في وسطه.\nوهذه فقرة ثانية.\n\nوفقرة ثالثة"
    article = clean_article(raw)
    assert [p.text for p in article.passages] == [
        "هذا سطر مكسور في وسطه.",
        "وهذه فقرة ثانية.",
        "وفقرة ثالثة",
    ]


def test_repeated_headline_and_section_label_dropped() -> None:
    raw = "أخبار سوريا\n\nعنوان مكرر\n\nعنوان مكرر\n\nالنص الأول للخبر.\n\nالنص الثاني."
    article = clean_article(raw)
    assert article.title == "عنوان مكرر"
    assert [p.text for p in article.passages] == ["النص الأول للخبر.", "النص الثاني."]


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("فقرة فيها #وسم واحد.", True),
        ("#سوريا #حلب #إدلب", False),
        ("الوسوم: #الجبهة_الجنوبية #تنظيم_الدولة", False),
        # Prose citing hashtags is report text, even with two or more of them.
        ("وانتشر وسما #أنقذوا_حلب و #حلب_تحترق على مواقع التواصل بعد قصف المدينة أمس.", True),
        ("أطلق ناشطون حملة بعنوان #لا_للحرب و #أوقفوا_القصف وشارك فيها آلاف من المدينة.", True),
    ],
)
def test_hashtag_lines_dropped_and_prose_with_hashtags_kept(line: str, kept: bool) -> None:
    article = clean_article(f"العنوان\n\nالنص الأول للخبر.\n\n{line}")
    assert [p.text for p in article.passages][1:] == ([line] if kept else [])


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("شارك على مدى ثلاثة أيام وفد من الوزارة في المؤتمر.", True),
        ("تابعنا على مدى الساعة لمعرفة آخر التطورات في المدينة.", True),
        ("شاركها على فيسبوك", False),
        ("شارك على فيسبوك | تويتر | واتساب", False),
        ("تابعنا على +", False),
        ("تابعونا على تلغرام", False),
        ("Share on Facebook", False),
        ("شارك", False),
    ],
)
def test_share_lines_are_only_share_furniture(line: str, kept: bool) -> None:
    article = clean_article(f"العنوان\n\nالنص الأول للخبر.\n\n{line}")
    assert [p.text for p in article.passages][1:] == ([line] if kept else [])


def test_lone_paragraph_citing_hashtags_is_an_article() -> None:
    line = "وانتشر وسما #أنقذوا_حلب و #حلب_تحترق على مواقع التواصل بعد قصف المدينة أمس."
    article = clean_article(line)
    assert [p.text for p in article.passages] == [line]


@pytest.mark.parametrize(
    ("raw", "title", "title_in_text"),
    [
        ("عنوان الخبر\n\nالنص الأول للخبر.", "عنوان الخبر", False),
        ("النص الوحيد للخبر.", "النص الوحيد للخبر", True),
    ],
)
def test_title_says_whether_it_was_taken_out(raw: str, title: str, title_in_text: bool) -> None:
    article = clean_article(raw)
    assert (article.title, article.title_in_text) == (title, title_in_text)


@pytest.mark.parametrize(
    ("line", "outlet"),
    [
        ("راديو ألوان - غرفة الأخبار", "راديو ألوان"),
        ("عنب بلدي – خاص", "عنب بلدي"),
    ],
)
def test_outlet_lines(line: str, outlet: str) -> None:
    article = clean_article(f"العنوان هنا\n\n{line}\n\nنص الخبر الأول.")
    assert article.outlet == outlet
    assert [p.text for p in article.passages] == ["نص الخبر الأول."]


def test_long_paragraph_split_at_sentence_ends() -> None:
    sentence = "جملة " * 50 + "."
    paragraph = " ".join([sentence] * 10)
    pieces = split_long(paragraph, 1200)
    assert len(pieces) > 1
    assert all(len(p) <= 1200 for p in pieces)
    assert " ".join(pieces) == paragraph
