"""Synthetic Arabic news corpus for benchmarks, in the style of the seed articles.

usage: python -m bench.corpus N [--seed S] [--out DIR] [--stats]

The five seed files come first; generated articles follow. Each generated article
re-uses clauses of the seeds as a skeleton: frequent seed words are kept, rarer ones
are replaced by words drawn from a Zipf law over a vocabulary that grows with the
article index (Heaps' law). The long tail is made of Arabic-looking words: random
triliteral roots in common patterns with clitics. Article g depends only on (seed, g),
so a corpus of N documents is a prefix of the corpus of any M > N documents.
"""

from __future__ import annotations

import argparse
import math
import re
import string
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from random import Random

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ZIPF_S = 1.02  # rank-frequency exponent of the replacement words
HEAPS_K, HEAPS_BETA = 53.0, 0.65  # tail words available after g articles: K * g ** beta
HEAD_SKIP = 0.75  # share of replacement draws that land in the head and are drawn again
KEEP = 0.08  # how much of the seed skeleton survives; lower means more Zipf-drawn words
NOISE = 0.05  # share of words touched by diacritics (~3%), misspellings (~1%), tatweel
PEOPLE, PLACES = (3, 8), (13, 18)  # tail index mod 40: rare (odd) and recurring (even)
KINDS = ("one_word", "several", "english", "rare_name", "misspelling", "question")
ENGLISH = (
    "Raqqa",
    "siege",
    "car bomb",
    "Deir ez-Zor",
    "Peskov",
    "airstrike",
    "hospital",
    "convoy",
    "tank",
    "refugees",
    "Syrian army",
    "Kremlin",
    "Euphrates",
    "ISIS",
)
QUESTION_WORDS = ("كم", "من", "أين", "متى", "ما", "هل", "لماذا")
# Root letters repeated roughly by how often they occur in Arabic roots.
CONSONANTS = "رررلللمممنننببعععققسسددححككففججتتششههصخطزغضثذظ"
PATTERNS = (
    "{0}ا{1}{2}",
    "م{0}{1}و{2}",
    "ت{0}{1}ي{2}",
    "ا{0}ت{1}ا{2}",
    "م{0}ا{1}{2}",
    "{0}{1}ا{2}",
    "است{0}{1}ا{2}",
    "{0}{1}ي{2}",
    "م{0}{1}{2}",
    "ت{0}ا{1}{2}",
    "ان{0}{1}ا{2}",
    "{0}{1}و{2}",
    "أ{0}{1}ا{2}",
    "{0}وا{1}{2}",
    "{0}{1}{2}ان",
    "مست{0}{1}{2}",
    "م{0}{1}ا{2}",
    "{0}{1}{2}",
)
PROCLITICS = ("", "و", "ف", "ب", "ل", "ك", "ال", "لل", "وال", "بال")
SUFFIXES = ("", "ة", "ات", "ون", "ين", "ها", "هم", "ي")
# The definite article does not take a possessive pronoun, so those pairs are left out.
AFFIXES = tuple(
    (p, s)
    for p in PROCLITICS
    for s in SUFFIXES
    if (p, s) != ("", "") and not (("ال" in p or p == "لل") and s in ("ها", "هم"))
)
GIVEN = (
    "محمد",
    "أحمد",
    "عمر",
    "خالد",
    "علي",
    "حسن",
    "حسين",
    "يوسف",
    "إبراهيم",
    "بكر",
    "عبيدة",
    "حمزة",
    "سعد",
    "مصعب",
    "أنس",
    "طلحة",
    "زيد",
    "عمار",
    "جعفر",
    "قتادة",
)
SEED_NAMES = ("أبو محمد الأنصاري", "مصطفى الحداوي", "أبو محمد الشمالي", "غل مراد حليموف")
SPEAKERS = (
    "المرصد السوري لحقوق الإنسان",
    "المتحدث باسم الكرملين ديمتري بيسكوف",
    "مصدر عسكري",
    "مصدر ميداني",
    "مسؤول في قوات سوريا الديمقراطية",
    "مراسل الوكالة",
    "التحالف الدولي",
    "وزارة الدفاع الروسية",
    "ناشطون في الرقة",
    "مدير المرصد",
)
OPENERS = (
    "وقال {} إن",
    "وأكد {} أن",
    "وأفاد {} بأن",
    "وذكر {} أن",
    "وأوضح {} أن",
    "ونقلت وكالة سانا عن {} أن",
    "وأشار {} إلى أن",
)
PUNCT = "\"'“”«»()[]/،,.:؛;!?؟-–—…*"
DIACRITICS = "".join(chr(c) for c in range(0x064B, 0x0653))
# Deleting diacritics, tatweel and punctuation is the normalisation the stats count under;
# one regex pass is several times faster than str.translate on non-ASCII text.
STRIP = re.compile("[" + re.escape(DIACRITICS + "\u0640" + PUNCT + string.punctuation) + "]+")
INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def normalise(word: str) -> str:
    """Strip diacritics, tatweel and punctuation from a word."""
    return STRIP.sub("", word)


def heaps(g: int) -> int:
    """Return how many tail words exist once generated article g is written (0 before it)."""
    return int(HEAPS_K * (g + 1) ** HEAPS_BETA) if g >= 0 else 0


def seed_articles() -> list[tuple[str, str]]:
    """Read the seed articles as (stem, text), byte for byte."""
    return [(p.stem, p.read_bytes().decode("utf-8")) for p in sorted(SEEDS.glob("*.txt"))]


class _Generator:
    """Hold the seed skeleton and the tail vocabulary for n_gen generated articles."""

    def __init__(self, seed: int, n_gen: int) -> None:
        self.seed = seed
        self.tok: list[str] = []  # the seeds' prose words, then each one's punctuation
        self.lead: list[str] = []
        self.trail: list[str] = []
        self.clauses: list[tuple[int, int]] = []  # [start, end) of each clause in tok
        for _, text in seed_articles():
            for line in text.splitlines():
                words = [w for w in line.split() if "#" not in w]  # hashtags are not prose
                if len(words) >= 12:  # headlines and page furniture are not prose
                    self._add_line(words)
        norms = [normalise(w) for w in self.tok]
        counts = Counter(n for n in norms if n)
        self.head = sorted(counts, key=lambda w: -counts[w])  # stable: ties by first use
        rank = {w: r for r, w in enumerate(self.head)}
        total = len(norms)
        # Keep a seed word with a probability that makes its final frequency decline like
        # 1/rank: the many seed hapaxes would otherwise all be as frequent as each other.
        self.keep = [
            1.0
            if not n
            else 0.4
            if n.isdigit()
            else min(1.0, KEEP * total / (counts[n] * (rank[n] + 1)))
            for n in norms
        ]
        self.isnum = [n.isdigit() for n in norms]  # numbers are replaced by numbers
        self.tail = self._tail(heaps(n_gen - 1), set(self.head))
        # Even tail words recur with Zipf ranks; odd ones are the rare half of a real
        # vocabulary, seen only where they are introduced and in a few follow-up reports.
        self.words = self.head + self.tail[0::2]  # Zipf rank -> word

    def _add_line(self, words: list[str]) -> None:
        """Append one prose line of the seeds to the skeleton, cut into clauses."""
        start = len(self.tok)
        for w in words:
            core = w.strip(PUNCT)
            i = w.find(core) if core else len(w)
            self.tok.append(w)
            self.lead.append(w[:i])
            self.trail.append(w[i + len(core) :])
            if w[-1] in "،.:؛" or len(self.tok) - start >= 25:
                self.clauses.append((start, len(self.tok)))
                start = len(self.tok)
        if start < len(self.tok):
            self.clauses.append((start, len(self.tok)))

    def _tail(self, size: int, taken: set[str]) -> list[str]:
        """Invent size distinct Arabic-looking words; one in ten is a person or a village."""
        rng = Random(self.seed * 7919 + 17)
        out: list[str] = []
        stem, combos = "", [("", "")]
        while len(out) < size:
            t = len(out)
            if t % 4 == 0 or not stem:  # families of four forms share a stem, as in real text
                root = rng.choices(CONSONANTS, k=3)
                stem = rng.choice(PATTERNS).format(*root)
                combos = [("", "")] + rng.sample(AFFIXES, 3)
            if t % 40 in PEOPLE:
                word = "ال" + stem + "ي"
                phrase = f"أبو {rng.choice(GIVEN)} {word}"
            elif t % 40 in PLACES:
                word = "ال" + stem + "ية"
                phrase = f"{rng.choice(('قرية', 'بلدة'))} {word}"
            else:
                pro, suf = combos[t % 4]
                word = phrase = pro + stem + suf
            if word in taken:
                stem = ""  # collision: draw a fresh stem
                continue
            taken.add(word)
            out.append(phrase)
        return out

    def article(self, g: int) -> str:
        """Write generated article g."""
        rng = Random(self.seed * 1_000_003 + g)
        v, new = heaps(g), heaps(g - 1)
        m = len(self.head) + (v + 1) // 2
        c, e = 1.0 - (m + 1) ** (1.0 - ZIPF_S), 1.0 / (1.0 - ZIPF_S)
        words = self._span(rng, rng.choice(self.clauses)[0], rng.randint(6, 14), c, e, m)
        headline = " ".join(words).rstrip(PUNCT + " ")
        paras = [self._paragraph(rng, c, e, m) for _ in range(rng.randint(6, 15))]
        for p in paras:
            self._noise(rng, p)
        # Every new tail word appears in the article that introduces it, and a rare word of
        # a recent article comes back now and then, as a story is followed up.
        recent = heaps(g - 40)
        again = [rng.randrange(recent, new) | 1] if rng.random() < (new - recent) / 200 else []
        for t in [*range(new, v), *again]:
            p = rng.choice(paras)
            p.insert(rng.randrange(len(p)), self.tail[min(t, v - 1)])
        return headline + "\n\n" + "\n\n".join(" ".join(p) for p in paras) + "\n"

    def _span(self, rng: Random, start: int, n: int, c: float, e: float, m: int) -> list[str]:
        """Copy n skeleton words from start, replacing some by Zipf-drawn words."""
        out: list[str] = []
        append, random = out.append, rng.random  # hot loop: bind everything locally
        tok, keep, isnum, lead, trail = self.tok, self.keep, self.isnum, self.lead, self.trail
        words, h, last = self.words, len(self.head), m - 1
        for j in range(start, min(start + n, len(tok))):
            if random() < keep[j]:
                append(tok[j])
            elif isnum[j]:
                append(lead[j] + _number(rng) + trail[j])
            else:
                r = int((1.0 - random() * c) ** e) - 1
                while r < h and random() < HEAD_SKIP:  # the skeleton already supplies the head
                    r = int((1.0 - random() * c) ** e) - 1
                append(lead[j] + words[r if r < last else last] + trail[j])
        return out

    def _paragraph(self, rng: Random, c: float, e: float, m: int) -> list[str]:
        """Chain random seed clauses into a paragraph of about 25-80 words."""
        target = int(rng.triangular(22, 75, 35))
        out: list[str] = []
        quoted = rng.random() < 0.3
        if quoted:  # 'وقال X إن "..."', as the seeds quote their sources
            people = (2 * (m - len(self.head)) - PEOPLE[1] + 39) // 40  # recurring ones
            if people > 0 and rng.random() < 0.3:  # a generated person, earlier ones preferred
                speaker = self.tail[PEOPLE[1] + 40 * (int((people + 1) ** rng.random()) - 1)]
            else:
                speaker = rng.choice(SPEAKERS)
            out.extend(rng.choice(OPENERS).format(speaker).split())
        q = len(out)
        while len(out) < target:
            a, b = rng.choice(self.clauses)
            out.extend(self._span(rng, a, b - a, c, e, m))
        if quoted:
            out[q] = '"' + out[q].lstrip(PUNCT)
            out[-1] = out[-1].rstrip(PUNCT) + '".'
        elif out[-1][-1] not in '."”':
            out[-1] = out[-1].rstrip(PUNCT) + "."
        return out

    def _noise(self, rng: Random, words: list[str]) -> None:
        """Add diacritics, misspellings and tatweel to a few words in place."""
        n = len(words)
        for _ in range(int(n * NOISE + rng.random())):
            j = rng.randrange(n)
            w = words[j]
            letters = [i for i, ch in enumerate(w) if "\u0621" <= ch <= "\u064a"]
            if " " in w or len(letters) < 2:
                continue
            if (r := rng.random()) < 0.6:
                i = rng.choice(letters) + 1
                mark = rng.choice(("\u064e", "\u064f", "\u0650", "\u0651\u064e", "\u0652"))
                w = w[:i] + mark + w[i:]
                if rng.random() < 0.2:  # tanween goes on the last letter
                    i = len(w.rstrip(PUNCT))
                    w = w[:i] + rng.choice("\u064b\u064c\u064d") + w[i:]
            elif r < 0.97:
                w = self._typo(w, rng.randrange(2))
            else:
                i = rng.choice(letters[:-1]) + 1
                w = w[:i] + "\u0640" + w[i:]
            words[j] = w

    def _typo(self, word: str, variant: int) -> str:
        """Misspell a head word the same way every time (drop, double, swap, hamza)."""
        core = normalise(word)
        if len(core) < 4 or core not in self.head or core not in word:
            return word
        h = zlib.crc32(f"{core}|{variant}".encode())  # not hash(): that varies per process
        p, op = (h >> 4) % (len(core) - 1), h % 4
        hamza = next((ch for ch in "أإآ" if ch in core), "")
        bad = (
            core.replace(hamza, "ا", 1)
            if op == 3 and hamza
            else "أ" + core[1:]
            if op == 3 and core[0] == "ا"
            else core[:p] + core[p + 1] + core[p] + core[p + 2 :]
            if op == 2
            else core[:p] + core[p] + core[p:]
            if op == 1
            else core[:p] + core[p + 1 :]
        )
        return word.replace(core, bad, 1)

    def query(self, rng: Random, kind: str, n_gen: int) -> str:
        """Draw one query of the given kind that fits a corpus with n_gen generated articles."""
        v = heaps(n_gen - 1)
        if kind == "english":
            return rng.choice(ENGLISH)
        if kind == "rare_name":
            names = [t for t in range(v // 2, v) if t % 40 in (PEOPLE[0], PLACES[0])]
            return self.tail[rng.choice(names)] if names else rng.choice(SEED_NAMES)
        if kind in ("several", "question"):
            if n_gen:
                text = self.article(rng.randrange(n_gen)).split("\n\n")
                para = rng.choice(text[1:]).split()
            else:
                a = rng.choice(self.clauses)[0]
                para = self.tok[a : a + 40]
            pool = list(
                dict.fromkeys(
                    w
                    for w in map(normalise, para)
                    if len(w) >= 3 and not any(ch.isdigit() for ch in w)
                )
            )
            k = rng.randint(2, 4) if kind == "several" else rng.randint(2, 3)
            picked = sorted(rng.sample(range(len(pool)), min(k, len(pool))))
            words = " ".join(pool[i] for i in picked)
            return words if kind == "several" else f"{rng.choice(QUESTION_WORDS)} {words}؟"
        while True:  # one_word or misspelling: a mid-frequency word
            t = 2 * rng.randrange(min(v // 2, 1000)) if v > 1 and rng.random() < 0.5 else -1
            if t >= 0:  # a frequent recurring tail word
                word = self.tail[t] if t % 40 not in PEOPLE + PLACES else ""
            else:  # a seed word past the function words
                word = self.head[rng.randrange(30, len(self.head))]
            if word.isalpha() and len(word) >= (5 if kind == "misspelling" else 3):
                break
        if kind == "one_word":
            return word
        i = rng.randrange(len(word))
        return word[:i] + rng.choice(CONSONANTS.replace(word[i], "")) + word[i + 1 :]


def _number(rng: Random) -> str:
    """Draw a casualty count, distance or year; some in Arabic-Indic digits."""
    n = str(rng.choice((rng.randint(2, 60), rng.randint(2, 400), rng.randint(2011, 2019))))
    return n.translate(INDIC) if rng.random() < 0.15 else n


def generate(n_docs: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """Yield (key, text) for the seeds and then n_docs - 5 generated articles."""
    seeds = seed_articles()
    yield from seeds[:n_docs]
    n_gen = max(0, n_docs - len(seeds))
    gen = _Generator(seed, n_gen)
    for g in range(n_gen):
        yield f"gen_{g:06d}", gen.article(g)


def write_corpus(n_docs: int, folder: Path, seed: int = 0) -> list[Path]:
    """Write the corpus as <key>.txt files in folder and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for key, text in generate(n_docs, seed):
        paths.append(folder / f"{key}.txt")
        paths[-1].write_bytes(text.encode("utf-8"))
    return paths


def queries(n: int, seed: int = 0, n_docs: int = 1000) -> list[tuple[str, str]]:
    """Return n (kind, query) pairs, every kind present once n >= 6."""
    n_gen = max(0, n_docs - len(seed_articles()))
    gen = _Generator(seed, n_gen)
    rng = Random(f"queries:{seed}:{n_docs}")
    kinds = [KINDS[i % len(KINDS)] for i in range(n)]
    rng.shuffle(kinds)
    return [(kind, gen.query(rng, kind, n_gen)) for kind in kinds]


def stats(docs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Measure size, vocabulary (Heaps), lengths and the Zipf exponent of a corpus."""
    counts: Counter[str] = Counter()
    n_docs = n_bytes = n_paras = n_words = 0
    growth: dict[int, int] = {}
    for _, text in docs:
        n_docs += 1
        n_bytes += len(text.encode("utf-8"))
        blocks = [b for b in text.split("\n\n") if b.strip()]
        n_paras += len(blocks) - 1  # the first block is the headline
        n_words += sum(len(b.split()) for b in blocks[1:])
        counts.update(normalise(text).split())
        if n_docs in (10, 100, 1000, 10_000, 100_000, 1_000_000):
            growth[n_docs] = len(counts)
    freqs = sorted(counts.values(), reverse=True)
    # Least-squares slope of log frequency on log rank over the body of the curve.
    ranks = sorted({int(10 * 1.2**i) for i in range(60) if 10 * 1.2**i < len(freqs) / 10})
    xs, ys = [math.log(r) for r in ranks], [math.log(freqs[r - 1]) for r in ranks]
    mx, my = sum(xs) / max(len(xs), 1), sum(ys) / max(len(ys), 1)
    zipf = -sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / max(
        sum((x - mx) ** 2 for x in xs), 1e-9
    )
    out = {
        "documents": n_docs,
        "megabytes": n_bytes / 1e6,
        "tokens": sum(freqs),
        "distinct_words": len(counts),
        "paragraphs_per_article": n_paras / max(n_docs, 1),
        "words_per_paragraph": n_words / max(n_paras, 1),
        "zipf_exponent": zipf,
        "hapax_share": sum(f == 1 for f in freqs) / max(len(freqs), 1),
    }
    out.update({f"distinct_at_{k}": v for k, v in growth.items()})
    return out


def main(argv: list[str] | None = None) -> None:
    """Generate a corpus, optionally write it, and print its statistics."""
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__)
    parser.add_argument("n_docs", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--stats", action="store_true")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.out:
        print(f"wrote {len(write_corpus(args.n_docs, args.out, args.seed))} files to {args.out}")
    if args.stats or not args.out:
        for name, value in stats(generate(args.n_docs, args.seed)).items():
            print(
                f"{name:>24}: {value:,.2f}"
                if isinstance(value, float)
                else f"{name:>24}: {value:,}"
            )
    print(f"{'seconds':>24}: {time.perf_counter() - start:.1f}")


if __name__ == "__main__":
    main()
