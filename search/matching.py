"""Match new passages against many subscriptions without looping over all of them.

A subscription is compiled from its search plan: every concept must be present in the passage
(alerts want precision), through any of its alternatives. Alternatives are keyed strings:
"s:" surface phrase, "t:" stem phrase, "b:" a word under any proclitics, "k:" the consonant key
of a Latin name. The index maps the keys of each topic's most selective concept to the topic, so
a passage only meets the topics that share one of its keys.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from search.analysis import is_arabic, is_latin
from search.plan import Column, Kind, Plan
from search.query import proclitic_bases
from search.translit import arabic_keys, latin_key
from search.vocabulary import Vocabulary

Compiled = list[list[str]]  # concepts, each a list of keyed alternatives
_PRECISE = {Kind.SURFACE, Kind.CLITIC, Kind.JOINED, Kind.ENGLISH, Kind.ALIAS, Kind.STEM}


def compile_plan(plan: Plan, vocab: Vocabulary) -> Compiled:
    """Turn a search plan into keyed alternatives, most selective concept first."""
    concepts: list[tuple[int, list[str]]] = []
    for concept in plan.concepts:
        keys: list[str] = []
        for alt in concept.alternatives:
            if alt.kind not in _PRECISE:
                continue
            prefix = "s:" if alt.column is Column.SURFACE else "t:"
            keys.append(prefix + " ".join(alt.phrase))
            if len(alt.phrase) == 1 and alt.kind in (Kind.SURFACE, Kind.ALIAS, Kind.ENGLISH):
                word = alt.phrase[0]
                if is_arabic(word):
                    keys.append("b:" + word)
                elif is_latin(word) and len(latin_key(word)) >= 2:
                    keys.append("k:" + latin_key(word))
        if keys:
            keys = list(dict.fromkeys(keys))
            weight = sum(vocab.surface(k[2:]) for k in keys if k.startswith("s:") and " " not in k)
            concepts.append((weight, keys))
    concepts.sort(key=lambda c: c[0])
    return [keys for _, keys in concepts]


@lru_cache(maxsize=200_000)
def _token_keys(token: str) -> frozenset[str]:
    # Words repeat (Zipf): their proclitic bases and consonant keys are worked out once.
    if not is_arabic(token):
        return frozenset()
    return frozenset(
        ["b:" + b for b in proclitic_bases(token)] + ["k:" + k for k in arabic_keys(token)]
    )


@dataclass(frozen=True)
class PassageKeys:
    """Everything a passage can satisfy, computed once per passage."""

    surface: tuple[str, ...]
    stem: tuple[str, ...]
    keys: frozenset[str]
    surface_text: str
    stem_text: str

    @classmethod
    def of(cls, surface: list[str], stem: list[str]) -> PassageKeys:
        """Compute the lookup keys of a passage from its analysed tokens."""
        keys = {"s:" + t for t in surface}.union(["t:" + t for t in stem])
        keys.update(*map(_token_keys, set(surface)))
        return cls(
            tuple(surface),
            tuple(stem),
            frozenset(keys),
            f" {' '.join(surface)} ",
            f" {' '.join(stem)} ",
        )

    def has(self, key: str) -> bool:
        """Tell whether one keyed alternative occurs in the passage."""
        if " " not in key:
            return key in self.keys
        body = f" {key[2:]} "
        return body in (self.surface_text if key.startswith("s:") else self.stem_text)


def satisfies(compiled: Compiled, passage: PassageKeys) -> bool:
    """Tell whether every concept of a subscription appears in the passage."""
    return bool(compiled) and all(any(passage.has(k) for k in keys) for keys in compiled)


def index_terms(compiled: Compiled) -> list[str]:
    """Return the lookup keys of a subscription: the single words of its first concept."""
    if not compiled:
        return []
    return sorted({k if " " not in k else k.split(" ")[0] for k in compiled[0]})


@dataclass
class TopicIndex:
    """Distinct compiled topics and the term index that finds a passage's candidates."""

    # Many people follow the same topic: each distinct plan is checked once per passage.
    plans: dict[str, Compiled] = field(default_factory=dict)
    by_term: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, plan_json: str) -> None:
        """Index one topic (a compiled plan as JSON); adding it again changes nothing."""
        if plan_json not in self.plans:
            self.plans[plan_json] = compiled = json.loads(plan_json)
            for term in index_terms(compiled):
                self.by_term[term].append(plan_json)

    def matches(self, passage: PassageKeys) -> set[str]:
        """Return the topics the passage satisfies."""
        candidates: set[str] = set()
        for key in passage.keys:
            if key in self.by_term:
                candidates.update(self.by_term[key])
        return {plan for plan in candidates if satisfies(self.plans[plan], passage)}
