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


def test_hashtag_line_dropped_but_single_hashtag_kept() -> None:
    raw = "العنوان\n\nفقرة فيها #وسم واحد.\n\nأخبار #أ و #ب ذات صلة"
    article = clean_article(raw)
    assert [p.text for p in article.passages] == ["فقرة فيها #وسم واحد."]


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
