"""Near-copy distractors made from the seeds: loose rewrites and near-verbatim reprints.

usage: python -m bench.copies N --out DIR [--seed S]

Of every five articles four are loose rewrites (seed sentences with words swapped, inserted
and deleted, numbers changed, clauses reordered, mixed with sentences of other seeds) and one
is a near-verbatim reprint of a whole seed under another headline and outlet. The output is
deterministic for a given seed, and the first k of N articles do not depend on N.
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from search.analysis import tokens
from search.cleaning import clean_article

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
NEAR = 0.6
# Share of words a rewrite touches: the judged answer phrases then survive about one time in four.
REWRITE_RATE = 0.4

_SENTENCE_RE = re.compile(r"(?<=[.!؟?])\s+")
_NUMBER_RE = re.compile(r"\d+")
_CLAUSE_SEP = "، "

OUTLETS = (
    "وكالة الفرات",
    "شبكة الشرق",
    "موقع البادية",
    "صحيفة النهار الجديد",
    "إذاعة المدينة",
    "مرصد الجزيرة السورية",
    "وكالة أنباء الشمال",
    "قناة الساحل",
    "بوابة الخبر",
    "شبكة أخبار الفرات",
)
_OUTLET_TAGS = ("متابعات", "وكالات", "خاص")
CITIES = ("دمشق", "بيروت", "عمان", "القاهرة", "موسكو", "الحسكة", "حلب", "بغداد")
# Words a rewriter adds: connectives, hedges, attributions.
FILLERS = (
    "أيضا",
    "كذلك",
    "قد",
    "حينها",
    "بدورها",
    "مجددا",
    "نحو",
    "عدة",
    "بعض",
    "اليوم",
    "حسب مصادر",
    "في وقت سابق",
    "بشكل واسع",
    "وفق ما أفادت",
    "بحسب",
    "الجديدة",
    "أخيرا",
    "مرة أخرى",
    "على ما يبدو",
    "وذلك",
)
HEADLINE_LEADS = ("عاجل:", "تقرير:", "متابعة:", "بالتفاصيل:", "", "", "")


@dataclass(frozen=True)
class Copy:
    """One generated article: kind is "rewrite" or "reprint", source the seed index."""

    kind: str
    source: int
    headline: str
    outlet: str
    # How the outlet is named: "line" (a line of its own) or a city dateline.
    byline: str
    paragraphs: tuple[str, ...]

    @property
    def body(self) -> str:
        """Return the paragraphs as one text."""
        return "\n\n".join(self.paragraphs)

    @property
    def text(self) -> str:
        """Return the article in the seeds' file format."""
        if self.byline in _OUTLET_TAGS:
            return f"{self.headline}\n\n{self.outlet} - {self.byline}\n\n{self.body}\n"
        return f"{self.headline}\n\n{self.byline} ({self.outlet}) - {self.body}\n"


@dataclass(frozen=True)
class Seed:
    """A seed article as the store reads it: title and passages."""

    title: str
    passages: tuple[str, ...]

    @property
    def body(self) -> str:
        """Return the passages as one text."""
        return "\n\n".join(self.passages)


@lru_cache(maxsize=4)
def load_seeds(folder: Path = SEEDS) -> tuple[Seed, ...]:
    """Read the seed articles, cleaned as the store cleans them."""
    seeds = []
    for path in sorted(folder.glob("*.txt")):
        article = clean_article(path.read_text(encoding="utf-8"))
        seeds.append(Seed(article.title, tuple(p.text for p in article.passages)))
    return tuple(seeds)


def sentences(seed: Seed) -> list[str]:
    """Split a seed's passages into sentences of at least six words."""
    found = []
    for passage in seed.passages:
        found += [s for s in _SENTENCE_RE.split(passage) if len(s.split()) >= 6]
    return found


def shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    """Return the word shingles of a text's normalised tokens."""
    toks = tokens(text)
    if len(toks) < size:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i : i + size]) for i in range(len(toks) - size + 1)}


def jaccard(a: str, b: str) -> float:
    """Return the word 3-shingle Jaccard similarity of two texts."""
    sa, sb = shingles(a), shingles(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def near_duplicate(a: str, b: str) -> bool:
    """Tell whether two texts are near-copies (3-shingle Jaccard at least 0.6)."""
    return jaccard(a, b) >= NEAR


def change_number(word: str, rng: random.Random) -> str:
    """Replace each number in a word by a nearby different one."""

    def swap(m: re.Match[str]) -> str:
        n = int(m.group())
        if 1900 <= n <= 2100:
            return str(n + rng.choice((-2, -1, 1, 2)))
        step = rng.choice((1, 2, 3, 5, 10)) * max(1, n // 10)
        return str(n + step if n <= step or rng.random() < 0.5 else n - step)

    return _NUMBER_RE.sub(swap, word)


def reorder_clauses(sentence: str, rng: random.Random) -> str:
    """Move one comma-separated clause of a sentence elsewhere."""
    clauses = sentence.rstrip(".").split(_CLAUSE_SEP)
    if len(clauses) < 2:
        return sentence
    moved = clauses.pop(rng.randrange(len(clauses)))
    clauses.insert(rng.randrange(len(clauses) + 1), moved)
    return _CLAUSE_SEP.join(clauses) + "."


def perturb(sentence: str, rng: random.Random, rate: float, pool: tuple[str, ...]) -> str:
    """Rewrite a sentence: words swapped, inserted and deleted, numbers changed."""
    if rng.random() < 0.4:
        sentence = reorder_clauses(sentence, rng)
    words = sentence.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if _NUMBER_RE.search(word):
            out.append(change_number(word, rng))
            i += 1
            continue
        r = rng.random() / rate
        if r < 0.25:  # deleted: nothing of it is copied
            i += 1
            continue
        if r < 0.5 and i + 1 < len(words):  # swapped with the next word
            out += [words[i + 1], word]
            i += 1
        elif r < 0.75:  # a word inserted before
            out += [rng.choice(FILLERS if rng.random() < 0.5 else pool), word]
        elif r < 1.0:  # replaced by a word of another seed
            out.append(rng.choice(pool))
        else:
            out.append(word)
        i += 1
    return " ".join(out)


@lru_cache(maxsize=4)
def _pool(seeds: tuple[Seed, ...]) -> tuple[str, ...]:
    """Return the seeds' longer words, in a fixed order."""
    words = {w.strip('.,،:"()“”') for s in seeds for p in s.passages for w in p.split()}
    return tuple(sorted(w for w in words if len(w) >= 4 and not _NUMBER_RE.search(w)))


def _outlet(rng: random.Random) -> tuple[str, str]:
    outlet = rng.choice(OUTLETS)
    return outlet, rng.choice(_OUTLET_TAGS if rng.random() < 0.5 else CITIES)


def _headline(words: list[str], rng: random.Random) -> str:
    words = [w.strip('.,،:"()“”…') for w in words]
    head = " ".join(w for w in words if w)
    return f"{rng.choice(HEADLINE_LEADS)} {head}".strip()


def rewrite(seeds: tuple[Seed, ...], rng: random.Random) -> Copy:
    """Return a loose rewrite: perturbed sentences mostly from one seed, some from others."""
    pool = _pool(seeds)
    source = rng.randrange(len(seeds))
    own = sentences(seeds[source])
    paragraphs = []
    for _ in range(rng.randint(3, 6)):
        picked = []
        for _ in range(rng.randint(1, 3)):
            from_seed = own if rng.random() < 0.7 else sentences(rng.choice(seeds))
            picked.append(perturb(rng.choice(from_seed), rng, REWRITE_RATE, pool))
        paragraphs.append(" ".join(picked))
    start = rng.choice(own).split()
    head = perturb(" ".join(start[: rng.randint(6, 10)]), rng, REWRITE_RATE, pool).split()
    return Copy("rewrite", source, _headline(head, rng), *_outlet(rng), tuple(paragraphs))


def reprint(seeds: tuple[Seed, ...], rng: random.Random) -> Copy:
    """Return a near-verbatim reprint of one seed with a few words changed."""
    pool = _pool(seeds)
    source = rng.randrange(len(seeds))
    paragraphs = [p.split() for p in seeds[source].passages]
    for _ in range(rng.randint(3, 6)):
        words = rng.choice(paragraphs)
        j = rng.randrange(len(words))
        if _NUMBER_RE.search(words[j]):
            words[j] = change_number(words[j], rng)
        elif rng.random() < 0.5:
            words[j] = rng.choice(FILLERS)
        else:
            del words[j]
    title = seeds[source].title or seeds[source].passages[0]
    head = perturb(" ".join(title.split()[:12]), rng, 0.3, pool).split()
    return Copy(
        "reprint",
        source,
        _headline(head, rng),
        *_outlet(rng),
        tuple(" ".join(w) for w in paragraphs if w),
    )


def make_copies(n: int, seed: int = 0, seeds: tuple[Seed, ...] | None = None) -> list[Copy]:
    """Return n distractors: every fifth a reprint, the rest rewrites."""
    seeds = seeds or load_seeds()
    out = []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        out.append(reprint(seeds, rng) if i % 5 == 4 else rewrite(seeds, rng))
    return out


def write_copies(n: int, folder: Path, seed: int = 0) -> list[Path]:
    """Write n distractor articles as .txt files into folder and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, copy in enumerate(make_copies(n, seed)):
        path = folder / f"copy_{i:04d}_{copy.kind}.txt"
        path.write_text(copy.text, encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    """Write N distractor articles into a folder."""
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = write_copies(args.n, args.out, args.seed)
    print(f"{len(paths)} articles in {args.out}")


if __name__ == "__main__":
    main()
