"""Turn a scraped article into title, outlet and passages, dropping page furniture."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

_SENTENCE_END_RE = re.compile(r"(?<=[.!؟?。])\s+")
_HASHTAG_RE = re.compile(r"#[^\W_]\w*")
# Only runs that need rewriting match: a single space between words is left as it is.
_SPACES_RE = re.compile(r"[ \t\u00a0]{2,}|[\t\u00a0]")
_LINE_END_RE = re.compile(r"[.!?؟…:][\"'”»)]*$")
_SENTENCE_LINE_RE = re.compile(r"[.!?؟][\"'”»)]*$")
HEADLINE_MAX_WORDS = 20
TITLE_MAX_WORDS = 12


@dataclass(frozen=True)
class Rules:
    """Furniture rules loaded from `lexicon/cleaning.toml`."""

    drop: tuple[re.Pattern[str], ...]
    section: tuple[re.Pattern[str], ...]
    outlet_line: tuple[re.Pattern[str], ...]
    dateline: tuple[re.Pattern[str], ...]
    hashtag_line_min: int
    hashtag_line_share: float
    max_passage_chars: int


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

    @property
    def text(self) -> str:
        """Return the cleaned article body, paragraphs separated by blank lines."""
        return "\n\n".join(p.text for p in self.passages)


@cache
def load_rules() -> Rules:
    """Read the furniture rules shipped with the package."""
    raw = tomllib.loads(resources.files("storage").joinpath("lexicon/cleaning.toml").read_text())

    def compile_all(key: str) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p) for p in raw[key])

    return Rules(
        drop=compile_all("drop"),
        section=compile_all("section"),
        outlet_line=compile_all("outlet_line"),
        dateline=compile_all("dateline"),
        hashtag_line_min=int(raw["hashtag_line_min"]),
        hashtag_line_share=float(raw["hashtag_line_share"]),
        max_passage_chars=int(raw["max_passage_chars"]),
    )


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


def _outlet(patterns: tuple[re.Pattern[str], ...], line: str, *, whole: bool) -> str | None:
    for pattern in patterns:
        m = pattern.fullmatch(line) if whole else pattern.match(line)
        if m:
            return m.group("outlet").replace('"', "").strip()
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
    """Extract title, outlet and passages from an article's raw text."""
    rules = rules or load_rules()
    lines = [line for line in _paragraphs(raw) if not _matches(rules.drop, line)]
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

    outlet = None
    for i, line in enumerate(lines[:2]):
        outlet = _outlet(rules.outlet_line, line, whole=True)
        if outlet:
            del lines[i]
            break
        outlet = _outlet(rules.dateline, line, whole=False)
        if outlet:
            break

    passages: list[Passage] = []
    offset = 0
    for paragraph in lines:
        for piece in split_long(paragraph, rules.max_passage_chars):
            passages.append(Passage(len(passages), piece, offset))
            offset += len(piece) + 2
    if title or not passages:
        return CleanArticle(title, outlet, tuple(passages))
    return CleanArticle(_derived_title(passages[0].text), outlet, tuple(passages), True)
