"""Cleaning: page furniture out, title and outlet found, passages pinned for every seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.cleaning import clean_article, split_long

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


def _article(head: str, body: str = "نص الخبر الأول.", tail: str = "") -> str:
    return f"عنوان الخبر هنا\n\n{head}\n\n{body}" + (f"\n\n{tail}" if tail else "")


@pytest.mark.parametrize(
    ("raw", "outlet", "agency"),
    [
        # Reporter bylines: a person is never an outlet.
        (_article("منى الخالدي – متابعات"), None, None),
        (_article("Next Previous منى الخالدي – متابعات"), None, None),
        (_article("سامر يوسف، منى الخالدي – متابعات"), None, None),
        # Photo credits, inside a dateline or on a line of their own.
        (_article("تصوير: ماجد العلي", "حضر الأمير الحفل."), None, None),
        (_article("طارق النمر- (تصوير: ماجد العلي)- نبأ- جدة: حضر الأمير الحفل."), "نبأ", None),
        # Cities: a dateline place is never an outlet, a newspaper named after one neither.
        (_article("القاهرة – متابعات"), None, None),
        (_article("الرياض - واس", "وصل الوفد أمس."), None, "واس"),
        (_article("فهد الراشد – بريدة"), None, None),
        # Datelines that name the outlet or the agency.
        (_article("نبأ- الرياض: أعلنت الوزارة أمس خطتها."), "نبأ", None),
        (_article('طارق النمر - "نبأ" - تبوك: أعلنت الوزارة خطتها.'), "نبأ", None),
        (_article("دمشق - سانا - افتتح المعرض أمس."), None, "سانا"),
        (_article("باريس (أ ف ب) - قال الوزير إن الاتفاق قريب."), None, "أ ف ب"),
        (_article("بيروت - أ.ف.ب: قال الوزير إن الاتفاق قريب."), None, "أ ف ب"),
        (_article("رويترز- مراكش: قال الوزير إن الاتفاق قريب."), None, "رويترز"),
        (_article("واس- جدة: استقبل الأمير الوفد."), None, "واس"),
        (_article("الدوحة (قنا) - وقعت الدولتان اتفاقا."), None, "قنا"),
        (_article("أنقرة - الأناضول: أعلن الجيش التركي مقتل جنديين."), None, "الأناضول"),
        (_article("جدة 3 رجب 1440 هـ الموافق 10 مارس 2019 م واس"), None, "واس"),
        (_article("عمّان في 5 أيار 2019 (بترا)"), None, "بترا"),
        (_article("وصل 3 آلاف زائر إلى المعرض أمس"), None, None),
        (_article("وقال 3 مسؤولين للصحفيين ما نقلته رويترز.", "نص آخر."), None, None),
        # Furniture that sticks to the outlet is read past; a credit only outlets sign names one.
        (_article("Next Previous صدى المدينة – وكالات"), "صدى المدينة", None),
        (_article("Next Previous صدى الخليج – واس"), None, "واس"),
        (_article('صنعاء - خاص بـ"الميدان"'), "الميدان", None),
        (_article("بوابة الشمال – متابعات"), "بوابة الشمال", None),
        (_article("وكالة الفجر – حلب"), "وكالة الفجر", None),
        # The outlet a byline names and the text calls itself.
        (
            _article("سعاد ناصر – صدى المدينة", "وقال مسؤول لـ”صدى المدينة” إن العمل بدأ."),
            "صدى المدينة",
            None,
        ),
        (
            _article("أعلنت الوزارة خطتها.", "وقال لـ«الميدان» المتحدث إن الخطة جاهزة."),
            "الميدان",
            None,
        ),
        (_article("أعلنت الوزارة خطتها.", "وقال لـ«رويترز» المتحدث إن الخطة جاهزة."), None, None),
        (
            _article("نص الخبر.", "نص آخر.", "رابط الخبر بصحيفة صدى الخليج: عنوان الخبر هنا"),
            "صدى الخليج",
            None,
        ),
        # Prose with dashes or brackets is no dateline.
        (_article("عادت (عدن) إلى الحكومة بعد أيام من القتال."), None, None),
        (_article("لم تعد «س-ع-ع» تشعر بالأمان - كما قالت."), None, None),
        (_article("1914 - اندلاع الحرب العالمية الأولى."), None, None),
    ],
)
def test_outlet_and_agency(raw: str, outlet: str | None, agency: str | None) -> None:
    article = clean_article(raw)
    assert (article.outlet, article.agency) == (outlet, agency)


@pytest.mark.parametrize(
    "line", ["منى الخالدي – متابعات", "الرياض - واس", "تصوير: ماجد العلي", "صدى المدينة – وكالات"]
)
def test_bylines_leave_the_text(line: str) -> None:
    article = clean_article(_article(line))
    assert [p.text for p in article.passages] == ["نص الخبر الأول."]


@pytest.mark.parametrize(
    ("raw", "passage"),
    [
        ("عنوان\n\n\x1a البند الأول\n\x1a البند الثاني.", "البند الأول البند الثاني."),
        ("عنوان\n\nنص\x1aملتصق.", "نص ملتصق."),
        ("عنوان\n\nنص\x07 فيه\x1b رموز.", "نص فيه رموز."),
    ],
)
def test_stray_control_characters_are_spaces(raw: str, passage: str) -> None:
    assert [p.text for p in clean_article(raw).passages] == [passage]


def test_html_entities_in_a_scraped_article_become_characters() -> None:
    raw = "عنوان الخبر\n\nقال المتحدث لـ &quot;سبق&quot; إن الطريق مغلق &amp; خطر."
    article = clean_article(raw)
    assert article.passages[0].text == 'قال المتحدث لـ "سبق" إن الطريق مغلق & خطر.'
