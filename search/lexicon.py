"""Data files an operator can extend: aliases, the English glossary, stopwords, questions."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

from search.analysis import tokens

Phrase = tuple[str, ...]


@dataclass(frozen=True)
class Entity:
    """Something the archive talks about, under one or more Arabic names."""

    id: str
    en: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    """A kind of question: the words that ask it and the words that answer it."""

    kind: str
    ask: tuple[Phrase, ...]
    answer: tuple[Phrase, ...]


@dataclass(frozen=True)
class Lexicon:
    """Analysed lookup tables built from the data files."""

    entities: tuple[Entity, ...]
    aliases: dict[Phrase, tuple[Phrase, ...]]  # a name -> every name of its entity
    glossary: dict[Phrase, tuple[Phrase, ...]]  # English phrase -> Arabic phrases
    stopwords: frozenset[str]
    questions: tuple[Question, ...] = ()

    @cached_property  # asked for every query token
    def longest_alias(self) -> int:
        """Return the token length of the longest name."""
        return max((len(p) for p in self.aliases), default=1)

    @cached_property
    def longest_gloss(self) -> int:
        """Return the token length of the longest English phrase."""
        return max((len(p) for p in self.glossary), default=1)


def _read(name: str) -> dict[str, Any]:
    return tomllib.loads(resources.files("search").joinpath(f"lexicon/{name}").read_text())


def _phrase(text: str) -> Phrase:
    return tuple(tokens(text))


def _questions(table: dict[str, Any]) -> tuple[Question, ...]:
    return tuple(
        Question(
            kind,
            tuple(dict.fromkeys(p for w in words["ask"] if (p := _phrase(w)))),
            tuple(dict.fromkeys(p for w in words["answer"] if (p := _phrase(w)))),
        )
        for kind, words in table.items()
    )


def build_lexicon(
    aliases: dict[str, Any],
    glossary: dict[str, Any],
    stopwords: dict[str, Any],
    questions: dict[str, Any] | None = None,
) -> Lexicon:
    """Analyse raw data-file contents into lookup tables."""
    entities = tuple(
        Entity(e["id"], e.get("en", e["id"]), tuple(e["names"])) for e in aliases["entity"]
    )
    alias_map: dict[Phrase, tuple[Phrase, ...]] = {}
    for entity in entities:
        names = tuple(dict.fromkeys(p for n in entity.names if (p := _phrase(n))))
        for name in names:
            alias_map[name] = names
    gloss: dict[Phrase, tuple[Phrase, ...]] = {}
    for term in glossary["term"]:
        arabic = tuple(dict.fromkeys(p for a in term["ar"] if (p := _phrase(a))))
        for en in term["en"]:
            if key := _phrase(en):
                gloss[key] = tuple(dict.fromkeys(gloss.get(key, ()) + arabic))
    stops = frozenset(t for w in stopwords["arabic"] + stopwords["english"] for t in tokens(w))
    return Lexicon(entities, alias_map, gloss, stops, _questions(questions or {}))


@cache
def load_lexicon() -> Lexicon:
    """Load the data files shipped in search/lexicon/."""
    return build_lexicon(
        _read("aliases.toml"),
        _read("glossary.toml"),
        _read("stopwords.toml"),
        _read("questions.toml"),
    )
