"""Turn a scraped article into title, outlet, agency and passages, dropping page furniture."""

from __future__ import annotations

import html
import re
import tomllib
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from search.analysis import INVISIBLE, tokens

_SENTENCE_END_RE = re.compile(r"(?<=[.!؟?。])\s+")
_HASHTAG_RE = re.compile(r"#[^\W_]\w*")
# Only runs that need rewriting match: a single space between words is left as it is.
_SPACES_RE = re.compile(r"[ \t\u00a0]{2,}|[\t\u00a0]")
_LINE_END_RE = re.compile(r"[.!?؟…:][\"'”»)]*$")
_SENTENCE_LINE_RE = re.compile(r"[.!?؟][\"'”»)]*$")
HEADLINE_MAX_WORDS = 20
TITLE_MAX_WORDS = 12
# Stray control characters (U+001A bullets, say) are read as spaces; tab, newlines and form
# feed are layout and stay.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Byline segments are parted by dashes; a tatweel parts them only between spaces.
_SEGMENT_SPLIT_RE = re.compile(r"\s*[-–—]+\s*|\s+ـ+\s+")
_INVISIBLE_RE = re.compile(f"[\u0640{INVISIBLE}]")  # tatweel too
_DATELINE_SOURCE_RE = re.compile(r"(\S+(?: \S+)?)\s*\(([^()]{2,30})\)")
_BRACKETED_RE = re.compile(r"\s*\(([^()]+)\)\s*")
_QUOTED_RE = re.compile(r'[«"“”„]([^«»"“”„\n]{2,40})[»"“”]')
_QUOTES = "«»\"“”„'"
BYLINE_MAX_WORDS = 12  # a byline line or dateline head
SEGMENT_MAX_WORDS = 4  # one name, place or credit in it
DATED_LINE_MAX_WORDS = 16  # a wire dateline with its two calendars
HEAD_MAX_CHARS = 80  # a dateline ends with a colon or dash this early in its paragraph


@dataclass(frozen=True)
class Rules:
    """Furniture rules loaded from `lexicon/cleaning.toml`."""

    drop: tuple[re.Pattern[str], ...]
    section: tuple[re.Pattern[str], ...]
    hashtag_line_min: int
    hashtag_line_share: float
    max_passage_chars: int
    byline_furniture: re.Pattern[str]
    photo_credit: re.Pattern[str]
    outlet_furniture: tuple[re.Pattern[str], ...]
    told: re.Pattern[str]  # "قال لـ«X»": group 1 is the outlet told
    outlet_kind: re.Pattern[str]  # "صحيفة X": group 1 is the outlet named
    outlet_kinds: frozenset[str]  # folded: a byline name opening with one is an outlet
    exclusive_to: re.Pattern[str]  # "خاص بـ" before the outlet's name
    credits: frozenset[str]  # folded, as every set below
    outlet_credits: frozenset[str]
    places: frozenset[str]
    agencies: dict[str, str]  # folded spelling -> canonical name


@dataclass(frozen=True)
class Passage:
    """One searchable paragraph (or part of one) and where it starts in the cleaned text."""

    ordinal: int
    text: str
    offset: int


@dataclass(frozen=True)
class CleanArticle:
    """An article reduced to what a reader came for."""

    title: str
    outlet: str | None
    passages: tuple[Passage, ...]
    title_in_text: bool = False  # the title was cut from the first passage, not taken out
    agency: str | None = None  # the news agency a dateline names (canonical name)

    @property
    def text(self) -> str:
        """Return the cleaned article body, paragraphs separated by blank lines."""
        return "\n\n".join(p.text for p in self.passages)


@cache
def load_rules() -> Rules:
    """Read the furniture rules shipped with the package."""
    raw = _read("cleaning.toml")
    places = _read("places.toml")["places"]

    def compile_all(key: str) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p) for p in raw[key])

    def either(words: list[str]) -> str:
        return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

    quoted = r'\s*[«"“”„]([^«»"“”„\n]{2,40})[»"“”]'
    return Rules(
        drop=compile_all("drop"),
        section=compile_all("section"),
        hashtag_line_min=int(raw["hashtag_line_min"]),
        hashtag_line_share=float(raw["hashtag_line_share"]),
        max_passage_chars=int(raw["max_passage_chars"]),
        byline_furniture=re.compile(rf"^(?:{either(raw['byline_furniture'])})\s*"),
        photo_credit=re.compile(raw["photo_credit"]),
        outlet_furniture=compile_all("outlet_furniture"),
        told=re.compile(rf"(?<!\w)(?:{either(raw['told'])})\s+لـ?{quoted}"),
        outlet_kind=re.compile(rf"(?<!\w)(?:ب|ل|و)?(?:{either(raw['outlet_kinds'])}){quoted}"),
        outlet_kinds=frozenset(map(fold, raw["outlet_kinds"])),
        exclusive_to=re.compile(raw["exclusive_to"]),
        credits=frozenset(map(fold, raw["credits"])),
        outlet_credits=frozenset(map(fold, raw["outlet_credits"])),
        places=frozenset(map(fold, places)),
        agencies={fold(s): name for name, spellings in raw["agencies"].items() for s in spellings}
        | {fold(name): name for name in raw["agencies"]},
    )


def _read(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("search").joinpath(f"lexicon/{name}").read_text())


def fold(text: str) -> str:
    """Return a name folded for comparison: letters as the index folds them, one space apart."""
    return " ".join(tokens(text))


def _paragraphs(text: str) -> list[str]:
    """Split on blank lines; join wrapped lines unless a line ends a sentence."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs: list[str] = []
    for block in re.split(r"\n[ \t\u00a0]*\n", text):
        current = ""
        for line in block.split("\n"):
            line = _SPACES_RE.sub(" ", line).strip()
            if not line:
                continue
            if current and _LINE_END_RE.search(current):
                paragraphs.append(current)
                current = line
            else:
                current = f"{current} {line}" if current else line
        if current:
            paragraphs.append(current)
    return paragraphs


def _hashtag_line(rules: Rules, line: str) -> bool:
    """Tell whether hashtags make most of a line: a "related stories" line, not prose."""
    tags = _HASHTAG_RE.findall(line)
    if len(tags) < rules.hashtag_line_min:
        return False
    return sum(map(len, tags)) >= rules.hashtag_line_share * len(line.replace(" ", ""))


def _matches(patterns: tuple[re.Pattern[str], ...], line: str) -> bool:
    return any(p.fullmatch(line) for p in patterns)


@dataclass(frozen=True)
class Byline:
    """What a byline or dateline says: the outlet and the news agency it names."""

    outlet: str | None
    agency: str | None


def _tidy(name: str) -> str:
    """Return a name without quotes, invisible marks, tatweel or trailing punctuation."""
    name = _INVISIBLE_RE.sub("", re.sub(f"[{_QUOTES}]", " ", name))
    return " ".join(name.split()).strip(" :،,.-–—")


def _unbracketed(rules: Rules, part: str, dateline: bool) -> list[str]:
    """Split "باريس (أ ف ب)" or "الصخيرات (المغرب)" in two; other brackets are prose.

    A dateline's "الرقة (شبكة النهر) -" names its source in brackets: that name counts as
    quoted, an outlet unless it is an agency.
    """
    pieces = _BRACKETED_RE.split(part)
    inner = pieces[1::2]
    if inner and all(fold(i) in rules.agencies or fold(i) in rules.places for i in inner):
        return [p.strip() for p in pieces if p.strip()]
    source = _DATELINE_SOURCE_RE.fullmatch(part) if dateline else None
    if source:
        return [source.group(1), f"«{source.group(2).strip()}»"]
    return [part]


def _segments(rules: Rules, text: str, dateline: bool = False) -> list[str] | None:
    """Split a byline into its segments, or return None when the text cannot be one."""
    text = rules.byline_furniture.sub("", text.strip())
    text = rules.photo_credit.sub(" - ", text)
    parts = [p.strip(" :،,") for p in _SEGMENT_SPLIT_RE.split(text)]
    parts = [q for p in parts for q in _unbracketed(rules, p, dateline)]
    parts = [p for p in parts if p.strip(_QUOTES + " ")]
    if not parts or sum(len(p.split()) for p in parts) > BYLINE_MAX_WORDS:
        return None
    for part in parts:
        if fold(part) in rules.agencies:
            continue  # "أ.ف.ب" has its dots
        if len(part.split()) > SEGMENT_MAX_WORDS or re.search(r"[\d.!?؟؛:()]", part):
            return None
        if part.count("«") != part.count("»") or sum(map(part.count, '"“”')) % 2:
            return None  # a dash inside quotes: «ز-ع-ع» is a name, not two segments
    return parts


def _read_segments(
    rules: Rules, parts: list[str], named: frozenset[str], *, top: bool = True
) -> Byline | None:
    """Class each segment; return what the byline says, or None when it is not one.

    A place, a credit or a photo credit is never an outlet. A name is a person unless
    something says it is an outlet: quotes, a first word such as "صحيفة" or "وكالة", a credit
    only outlets sign with ("خاص",
    "غرفة الأخبار"), the article naming it as the one it speaks for, or a single word beside
    a place or credit (people sign with two names or more).
    """
    agency = None
    names: list[tuple[str, bool]] = []  # (name, quoted)
    known = outlet_signed = False  # a place or credit stands beside the names
    for part in parts:
        exclusive = rules.exclusive_to.match(part)
        if exclusive:
            outlet_signed = True
            part = part[exclusive.end() :]
        bare = _tidy(part)
        key = fold(bare)
        if key in rules.agencies:
            # Beside an agency the other word is its place ("رويترز – لويزيانا"), not known.
            agency = agency or rules.agencies[key]
            continue
        if key in rules.outlet_credits:
            outlet_signed = True
        elif key not in rules.credits and key not in rules.places:
            names.append((bare, any(q in part for q in _QUOTES)))
            continue
        known = True
    if len(parts) < 2 and not agency:
        return None
    for name, quoted in names:
        key = fold(name)
        words = key.split()
        if not words:
            continue  # symbols only
        # Beside an agency, a lone word is the place it filed from ("رويترز- الصخيرات").
        single = top and known and not agency and len(words) == 1
        kind = len(words) > 1 and words[0] in rules.outlet_kinds
        if quoted or key in named or kind or single or (outlet_signed and len(names) == 1):
            return Byline(name, agency)
    return Byline(None, agency) if known or agency else None


def _dated_dateline(rules: Rules, line: str) -> Byline | None:
    """Read a wire dateline: a place, a date and the agency ("الرياض 26 شوال 1436 هـ … واس")."""
    words = line.split()
    if not 3 <= len(words) <= DATED_LINE_MAX_WORDS or not re.search(r"\d", line):
        return None
    if re.search(r"[.،,!?؟:؛]", line):
        return None  # a sentence that ends on an agency ("قال 3 مسؤولين لرويترز.") is prose
    for n in (3, 2, 1):  # the agency's name ends the line: "أ ف ب" is three words
        agency = rules.agencies.get(fold(" ".join(words[-n:])))
        if agency and len(words) > n:
            return Byline(None, agency)
    return None


def _line_byline(
    rules: Rules, line: str, named: frozenset[str], *, top: bool = True
) -> Byline | None:
    """Read a line that is a byline and nothing else ("فلان – متابعات", "الرياض - واس")."""
    parts = _segments(rules, line)
    if parts is None and top:
        return _dated_dateline(rules, line)
    return _read_segments(rules, parts, named, top=top) if parts else None


def _dateline(rules: Rules, paragraph: str, named: frozenset[str]) -> Byline | None:
    """Read the dateline that opens a paragraph ("سبق- الرياض:", "باريس (أ ف ب) -")."""
    head = rules.photo_credit.sub(" - ", paragraph[: HEAD_MAX_CHARS * 2])[:HEAD_MAX_CHARS]
    found = None
    for m in re.finditer(r"[-–—:]|\s+ـ+\s", head):
        if m.start() == 0:
            continue
        parts = _segments(rules, head[: m.start()], m.group() != ":")
        if parts is None:
            break  # a segment too long for a byline: longer heads only hold more of it
        if len(parts) > 1:
            found = parts
        if m.group() == ":":
            break
    return _read_segments(rules, found, named) if found else None


def _named(rules: Rules, text: str) -> tuple[frozenset[str], Counter[str]]:
    """Return the names the text quotes or calls outlets, and those it says it was told."""
    quoted = {fold(q) for q in _QUOTED_RE.findall(text)}
    kinds = {fold(q) for q in rules.outlet_kind.findall(text)}
    told = Counter(fold(q) for q in rules.told.findall(text))
    for key in list(told):
        if key in rules.agencies or len(key.split()) > SEGMENT_MAX_WORDS:
            del told[key]
    return frozenset(quoted | kinds), told


def _told_outlet(rules: Rules, text: str, told: Counter[str]) -> str | None:
    """Return, as the text spells it, the outlet a source is most often said to have told."""
    if not told:
        return None
    best = told.most_common(1)[0][0]
    for m in rules.told.finditer(text):
        if fold(m.group(1)) == best:
            return _tidy(m.group(1))
    return None


def split_long(paragraph: str, limit: int) -> list[str]:
    """Split a paragraph longer than limit at sentence ends into pieces of at most ~limit."""
    if len(paragraph) <= limit:
        return [paragraph]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END_RE.split(paragraph):
        if current and len(current) + 1 + len(sentence) > limit:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces


def _derived_title(paragraph: str) -> str:
    sentence = _SENTENCE_END_RE.split(paragraph, maxsplit=1)[0]
    words = sentence.split()
    if len(words) <= TITLE_MAX_WORDS:
        return sentence.rstrip("،,.")
    return " ".join(words[:TITLE_MAX_WORDS]).rstrip("،,.") + "…"


def clean_article(raw: str, rules: Rules | None = None) -> CleanArticle:
    """Extract title, outlet, agency and passages from an article's raw text."""
    rules = rules or load_rules()
    # Text scraped from pages keeps HTML entities (&quot;): a reader sees the character.
    raw = _CONTROL_RE.sub(" ", html.unescape(raw) if "&" in raw else raw)
    lines = [line for line in _paragraphs(raw) if not _matches(rules.drop, line)]
    lines = [line for line in lines if not rules.photo_credit.fullmatch(line)]
    lines = [line for line in lines if not _hashtag_line(rules, line)]
    if len(lines) > 1 and _matches(rules.section, lines[0]):
        lines = lines[1:]

    title = ""
    # A short first line is the headline, unless it ends a sentence and is not repeated as
    # headlines are: then it is a short paragraph, which stays searchable (the title is cut
    # from it below).
    if lines and len(lines[0].split()) <= HEADLINE_MAX_WORDS and len(lines) > 1:
        head = lines[0].rstrip(".")
        if not _SENTENCE_LINE_RE.search(lines[0]) or lines[1].rstrip(".") == head:
            title = head
            while lines and lines[0].rstrip(".") == title:
                lines.pop(0)

    outlet, agency, lines = _outlet_and_agency(rules, lines)

    passages: list[Passage] = []
    offset = 0
    for paragraph in lines:
        for piece in split_long(paragraph, rules.max_passage_chars):
            passages.append(Passage(len(passages), piece, offset))
            offset += len(piece) + 2
    if title or not passages:
        return CleanArticle(title, outlet, tuple(passages), agency=agency)
    title = _derived_title(passages[0].text)
    return CleanArticle(title, outlet, tuple(passages), True, agency)


def _outlet_and_agency(rules: Rules, lines: list[str]) -> tuple[str | None, str | None, list[str]]:
    """Read the outlet and agency from bylines, datelines and the text; drop byline lines."""
    text = "\n".join(lines)
    named, told = _named(rules, text)
    # Byline lines stand near the top or at the end; the first paragraph may open with one.
    top = [(i, _line_byline(rules, lines[i], named)) for i in range(min(2, len(lines)))]
    # At the end, where addresses stand too ("الأشرفية – بيروت"), a lone word is no evidence.
    bottom = [
        (i, _line_byline(rules, lines[i], named, top=False))
        for i in range(max(2, len(lines) - 2), len(lines))
    ]
    found = {i: b for i, b in top + bottom if b}
    kept = [line for i, line in enumerate(lines) if i not in found]
    dateline = _dateline(rules, kept[0], named) if kept else None
    bylines = (
        [b for i, b in top if b] + ([dateline] if dateline else []) + [b for i, b in bottom if b]
    )
    outlet = next((b.outlet for b in bylines if b.outlet), None)
    agency = next((b.agency for b in bylines if b.agency), None)
    for line in kept[-2:]:
        for pattern in rules.outlet_furniture:
            m = pattern.fullmatch(line)
            if m:
                outlet = outlet or _tidy(m.group("outlet"))
                kept.remove(line)
                break
    return outlet or _told_outlet(rules, text, told), agency, kept
