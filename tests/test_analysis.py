"""The analyser: every normalisation rule, tokens and the light stemmer."""

from __future__ import annotations

import pytest

from search.analysis import capitalised, light_stem, normalise, tokens


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("جدَّد", "جدد"),  # shadda and fatha
        ("المُستعادة", "المستعاده"),  # damma, ta marbuta
        ("الفـــرات", "الفرات"),  # tatweel
        ("قُتِلَ", "قتل"),
        ("\u0670ذلك", "ذلك"),  # superscript alef
        ("\u0610صلى", "صلي"),  # Quranic mark, alef maqsura
        ("\u06d6كلمة", "كلمه"),  # Quranic annotation
        ("أحمد", "احمد"),
        ("إيران", "ايران"),
        ("آخر", "اخر"),
        ("ٱلله", "الله"),
        ("على", "علي"),
        ("فارسی", "فارسي"),  # Farsi ya
        ("مدرسة", "مدرسه"),
        ("مدرسۀ", "مدرسه"),  # heh with yeh above
        ("مدرسهٔ", "مدرسه"),  # the same, typed as heh and a hamza mark
        ("مدرسہ", "مدرسه"),  # heh goal
        ("کتاب", "كتاب"),  # keheh
        ("الپاراسیتامول", "الباراسيتامول"),  # Persian pe, as Arabic writes p
        ("ڤيتامين", "فيتامين"),  # ve, as Arabic writes v
        ("مسؤول", "مسوول"),
        ("رئيس", "رييس"),
        ("١٣٧", "137"),  # Arabic-Indic digits
        ("۱۳۷", "137"),  # Extended Arabic-Indic digits
        ("१२", "12"),  # Devanagari digits
        ("ABC Def", "abc def"),
        ("ﻻ", "لا"),  # NFKC presentation form
        ("ﬁ", "fi"),  # NFKC ligature
        ("دير\u200bالزور", "ديرالزور"),  # zero-width space
        ("a\u00adb", "ab"),  # soft hyphen
        ("\u061cعربي", "عربي"),  # Arabic letter mark
        ("\u202bنص\u202c", "نص"),  # embedding controls
        ("\u2066x\u2069", "x"),  # isolates
        ("\ufeffنص", "نص"),  # BOM
        ("\u200eنص\u200f", "نص"),  # LRM / RLM
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('تنظيم "داعش"', ["تنظيم", "داعش"]),
        ("اللواء (137)", ["اللواء", "137"]),
        ('لـ"داعش"', ["ل", "داعش"]),
        ("#تنظيم_الدولة", ["تنظيم", "الدوله"]),
        ("جدَّد", ["جدد"]),
        ("المئة المائة بالمائة", ["الميه", "الميه", "بالميه"]),
        ("", []),
        ("!!! ؟؟ ...", []),
        ("x\x00y", ["x", "y"]),
    ],
)
def test_tokens(raw: str, expected: list[str]) -> None:
    assert tokens(raw) == expected


@pytest.mark.parametrize(
    ("token", "stem"),
    [
        ("الدبابات", "دباب"),
        ("والمدينه", "مدين"),
        ("بالتزامن", "تزامن"),
        ("كالعاده", "عاد"),
        ("فالجيش", "جيش"),
        ("للتنظيم", "تنظيم"),
        ("وحدات", "حد"),
        ("مقاتلين", "مقاتل"),
        ("الروسيه", "روس"),
        ("ال", "ال"),  # too short to strip
        ("وقت", "وقت"),  # و needs four letters
        ("137", "137"),
        ("tank", "tank"),
    ],
)
def test_light_stem(token: str, stem: str) -> None:
    assert light_stem(token) == stem


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("The minister met Ahmed Karimi in Damascus.", {"ahmed", "karimi", "damascus"}),
        ("He said. Then the army left", set()),  # a sentence's first word
        ("Officials said? Yes, they did", set()),
        ("talks with Iran and Turkey began", {"iran", "turkey"}),
        ("قال Ahmed إن القوات وصلت", {"ahmed"}),
        ("no names here at all", set()),
        ("", set()),
        ("they met Karimi on Monday", {"karimi"}),  # Monday is unnamed below
    ],
)
def test_capitalised_words_inside_a_sentence(text: str, names: set[str]) -> None:
    toks = tokens(text)
    assert {toks[i] for i in capitalised(text, frozenset({"monday"}))} == names
