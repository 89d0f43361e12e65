"""Real sentences recombined into new articles, at any size: real words, real lengths.

usage: python -m bench.sentences N [--seed S] [--out DIR] [--stats] [--zips DIR]

The sentences, headlines and lengths come from SaudiNewsNet, read at run time from
`../shared/outside/data/saudinewsnet/*.zip` beside the checkout (each zip holds one JSON array
of {source, url, date_extracted, title, author, content}); nothing of it is copied into the
repository. Articles are kept as `../shared/outside/news_corpus.py` keeps them (a headline,
at least 200 characters of content, first of each headline and content pair); their content
lines are paragraphs, cut into sentences after `.`, `!`, `?` or `؟`. A sentence of fewer than
three words is left out.

Article g (file `snt_NNNNNNN.txt`) depends only on (seed, g): its length in sentences is drawn
from the real articles' lengths, its headline is a real headline or, as often, a real sentence
cut to the length of a real headline, and its paragraphs hold 1-4 real sentences (a number
drawn from the real paragraphs' sentence counts, those over four counted as four). So N
documents are a prefix of M > N documents, and a million can be written streaming.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from random import Random

from bench.corpus import PUNCT, stats
from bench.realtext import OUTSIDE

SNN = OUTSIDE / "data" / "saudinewsnet"
SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+")
MIN_WORDS = 3  # shorter pieces are bylines, numbers and fragments of abbreviations
MIN_CONTENT = 200  # characters, as news_corpus.py keeps an article
HEADLINE_SHARE = 0.5  # share of real headlines; the rest are real sentences cut short
PARAGRAPH_MAX = 4  # sentences


@dataclass(frozen=True)
class Pool:
    """What the articles are made of: real headlines, sentences and lengths."""

    headlines: list[str]
    sentences: list[str]  # every kept sentence of every kept article, repeats included
    lengths: list[int]  # sentences per real article
    paragraph_sizes: list[int]  # sentences per real paragraph, 1-4
    headline_words: list[int]  # words per real headline


def split_sentences(paragraph: str) -> list[str]:
    """Cut a paragraph into sentences after . ! ? or ؟ followed by a space."""
    return [s for s in SENTENCE_END.split(paragraph) if s]


def load_pool(zips: Path = SNN) -> Pool:
    """Read the dataset's zips (in name order) into a pool; raise when there are none."""
    paths = sorted(zips.glob("*.zip"))
    if not paths:
        raise FileNotFoundError(f"no SaudiNewsNet zips in {zips}")
    pool = Pool([], [], [], [], [])
    seen: set[bytes] = set()
    for path in paths:
        with zipfile.ZipFile(path) as zf:
            for name in sorted(zf.namelist()):
                for article in json.loads(zf.read(name)):
                    _add(pool, article, seen)
    if not pool.sentences:
        raise ValueError(f"no usable article in the zips of {zips}")
    return pool


def _add(pool: Pool, article: dict[str, object], seen: set[bytes]) -> None:
    """Add one dataset article to the pool, unless it is short or seen already."""
    title = " ".join(str(article.get("title") or "").split())
    content = str(article.get("content") or "").replace("\r", "\n")
    paragraphs = [" ".join(line.split()) for line in content.split("\n")]
    paragraphs = [p for p in paragraphs if p]
    body = "\n".join(paragraphs)
    digest = hashlib.blake2b(f"{title}\0{body}".encode(), digest_size=16).digest()
    if not title or len(body) < MIN_CONTENT or digest in seen:
        return
    seen.add(digest)
    count = 0
    for paragraph in paragraphs:
        kept = [s for s in split_sentences(paragraph) if len(s.split()) >= MIN_WORDS]
        if kept:
            pool.sentences.extend(kept)
            pool.paragraph_sizes.append(min(len(kept), PARAGRAPH_MAX))
            count += len(kept)
    if count:
        pool.headlines.append(title)
        pool.headline_words.append(len(title.split()))
        pool.lengths.append(count)


def article(pool: Pool, seed: int, g: int) -> str:
    """Write article g: a headline, a blank line, paragraphs separated by blank lines."""
    rng = Random(seed * 1_000_000_007 + g)
    choice, sentences = rng.choice, pool.sentences
    n = choice(pool.lengths)
    headline = ""
    if rng.random() >= HEADLINE_SHARE:
        words = choice(sentences).split()[: choice(pool.headline_words)]
        headline = " ".join(words).rstrip(PUNCT + " ")
    headline = headline or choice(pool.headlines)
    paragraphs = []
    while n > 0:
        k = min(n, choice(pool.paragraph_sizes))
        paragraphs.append(" ".join([choice(sentences) for _ in range(k)]))
        n -= k
    return headline + "\n\n" + "\n\n".join(paragraphs) + "\n"


def generate(n_docs: int, seed: int = 0, pool: Pool | None = None) -> Iterator[tuple[str, str]]:
    """Yield (key, text) of articles 0 .. n_docs - 1."""
    pool = pool or load_pool()
    for g in range(n_docs):
        yield f"snt_{g:07d}", article(pool, seed, g)


def write_sentences(
    n_docs: int, folder: Path, seed: int = 0, zips: Path = SNN, pool: Pool | None = None
) -> tuple[int, int]:
    """Write n_docs articles as <key>.txt files in folder; return (files, bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = size = 0
    for key, text in generate(n_docs, seed, pool or load_pool(zips)):
        data = text.encode("utf-8")
        (folder / f"{key}.txt").write_bytes(data)
        files += 1
        size += len(data)
    return files, size


def main(argv: list[str] | None = None) -> None:
    """Write the articles, or print their statistics."""
    parser = argparse.ArgumentParser(prog="python -m bench.sentences", description=__doc__)
    parser.add_argument("n_docs", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--stats", action="store_true")
    parser.add_argument("--zips", type=Path, default=SNN, help="the SaudiNewsNet *.zip folder")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    pool = load_pool(args.zips)
    print(
        f"pool: {len(pool.lengths):,} articles, {len(pool.sentences):,} sentences "
        f"({time.perf_counter() - start:.1f} s)"
    )
    if args.out:
        files, size = write_sentences(args.n_docs, args.out, args.seed, pool=pool)
        print(f"wrote {files:,} files ({size / 1e6:.1f} MB) to {args.out}")
    if args.stats or not args.out:
        for name, value in stats(generate(args.n_docs, args.seed, pool)).items():
            shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
            print(f"{name:>24}: {shown}")
    print(f"{'seconds':>24}: {time.perf_counter() - start:.1f}")


if __name__ == "__main__":
    main()
