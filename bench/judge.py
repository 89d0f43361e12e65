"""Judge ranked passages against a query set: success@1, success@3, MRR@10, near-copy pairs."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.copies import near_duplicate

QUERIES = Path(__file__).resolve().parent.parent / "tests" / "eval" / "queries.jsonl"
# Kinds of question whose answer has a shape (a number, a date, a name, a place, a cause).
QUESTION_KINDS = ("how_many", "when", "who", "where", "why")


def fold(text: str) -> str:
    """Fold text loosely so that phrase checks ignore marks and letter forms."""
    text = re.sub("[\u064b-\u065f\u0670\u0640\u200c\u200d\u200e\u200f]", "", text)
    text = re.sub("[أإآٱ]", "ا", text).replace("ى", "ي").replace("ة", "ه")
    text = text.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
    return re.sub(r"\s+", " ", text)


def load_queries(path: Path = QUERIES) -> list[dict[str, object]]:
    """Read a JSONL query set."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def rank_of(query: dict[str, object], passages: Sequence[str]) -> int | None:
    """Return the 1-based rank of the first passage holding a wanted phrase."""
    wanted = [fold(str(p)) for p in query["any"]]  # type: ignore[attr-defined]
    for i, passage in enumerate(passages[:10], 1):
        folded = fold(passage)
        if any(w in folded for w in wanted):
            return i
    return None


def holds_near_copies(passages: Sequence[str]) -> bool:
    """Tell whether any two of the first ten passages are near-copies of each other."""
    top = passages[:10]
    return any(
        near_duplicate(top[i], top[j]) for i in range(len(top)) for j in range(i + 1, len(top))
    )


@dataclass
class Score:
    """Running totals for one engine."""

    n: int = 0
    at1: int = 0
    at3: int = 0
    rr: float = 0.0
    # Queries whose top ten was judged for near-copies, and those where it held a pair.
    checked: int = 0
    paired: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def add(
        self, query: dict[str, object], rank: int | None, passages: Sequence[str] | None = None
    ) -> None:
        """Count one judged query; given its ranked passages, check them for near-copies."""
        if passages is not None:
            self.checked += 1
            self.paired += holds_near_copies(passages)
        self.n += 1
        self.at1 += rank == 1
        self.at3 += bool(rank and rank <= 3)
        self.rr += 1 / rank if rank else 0.0
        kind = self.by_kind.setdefault(str(query["kind"]), [0, 0, 0])
        kind[0] += rank == 1
        kind[1] += bool(rank and rank <= 3)
        kind[2] += 1
        if rank != 1:
            self.misses.append(f"{query['id']} rank={rank} {query['q']}")

    @property
    def success_at_1(self) -> float:
        """Return the share of queries answered first."""
        return self.at1 / self.n if self.n else 0.0

    @property
    def success_at_3(self) -> float:
        """Return the share answered in the top three."""
        return self.at3 / self.n if self.n else 0.0

    @property
    def mrr(self) -> float:
        """Return the mean reciprocal rank at 10."""
        return self.rr / self.n if self.n else 0.0

    @property
    def near_copy_share(self) -> float:
        """Return the share of checked queries whose top ten held two near-copies."""
        return self.paired / self.checked if self.checked else 0.0

    def kind_at1(self, kind: str) -> float:
        """Return success@1 for one kind of query."""
        a1, _, n = self.by_kind.get(kind, [0, 0, 0])
        return a1 / n if n else 0.0

    def kind_at3(self, kind: str) -> float:
        """Return success@3 for one kind of query."""
        _, a3, n = self.by_kind.get(kind, [0, 0, 0])
        return a3 / n if n else 0.0

    def questions_at3(self) -> float:
        """Return success@3 over all the shaped question kinds together."""
        counts = [self.by_kind.get(k, [0, 0, 0]) for k in QUESTION_KINDS]
        n = sum(c[2] for c in counts)
        return sum(c[1] for c in counts) / n if n else 0.0
