"""Turn what a user typed into a plan of concepts, each with weighted alternatives."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.analysis import light_stem, tokens

MAX_QUERY_TOKENS = 24


class Column(StrEnum):
    """Indexed columns of passages_fts."""

    SURFACE = "surface"
    STEM = "stem"


@dataclass(frozen=True)
class Alternative:
    """One way a concept can appear in a passage: adjacent tokens in one column."""

    column: Column
    phrase: tuple[str, ...]
    weight: float
    kind: str

    def fts(self) -> str:
        """Return this alternative as a safe FTS5 column-filtered phrase."""
        # Tokens hold only letters and digits; doubling quotes keeps that a guarantee.
        body = " ".join(t.replace('"', '""') for t in self.phrase)
        return f'{self.column.value} : "{body}"'


@dataclass(frozen=True)
class Concept:
    """A query word (or phrase) and the alternatives that satisfy it."""

    label: str
    alternatives: tuple[Alternative, ...]


@dataclass(frozen=True)
class Plan:
    """The analysed query."""

    concepts: tuple[Concept, ...]

    @property
    def empty(self) -> bool:
        """Tell whether nothing searchable is left."""
        return not self.concepts

    def fts_expression(self) -> str:
        """Return an FTS5 MATCH expression that ORs every alternative."""
        parts = dict.fromkeys(a.fts() for c in self.concepts for a in c.alternatives)
        return " OR ".join(parts)

    def terms(self) -> set[str]:
        """Return every token that the plan may match, for highlighting."""
        return {t for c in self.concepts for a in c.alternatives for t in a.phrase}


SURFACE_WEIGHT = 1.0
STEM_WEIGHT = 0.7


def literal_concept(token: str) -> Concept:
    """Return the concept of one analysed query token: its surface form and its stem."""
    alts = [Alternative(Column.SURFACE, (token,), SURFACE_WEIGHT, "surface")]
    stem = light_stem(token)
    alts.append(Alternative(Column.STEM, (stem,), STEM_WEIGHT, "stem"))
    return Concept(token, tuple(alts))


def plan_query(text: str) -> Plan:
    """Analyse a query into concepts; duplicates collapse, length is bounded."""
    toks = list(dict.fromkeys(tokens(text)))[:MAX_QUERY_TOKENS]
    return Plan(tuple(literal_concept(t) for t in toks))
