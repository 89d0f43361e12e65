"""The search engine on real text: SaudiNewsNet articles, or their sentences recombined.

`python -m bench --real DIR [--limit N]` ingests the .txt articles of DIR (the first N by
name; `../shared/outside/news_corpus.py` writes them), and the ARCD articles when
`../shared/outside/data/arcd/arcd-train.json` is there (`--no-arcd`: not). `python -m bench
--docs N --sentences` writes N articles of real sentences (`bench/sentences.py`). Either way:

- ingest: Furat's MB/s against raw FTS5 inserts of the same paragraphs, each in a process of
  its own (its peak RSS), and the database's bytes (file and WAL) per byte of text;
- search: queries of several kinds drawn from the corpus itself, through Furat, Tantivy and
  FTS5, each engine in its own process (`bench.engines --docs`), p50/p95/p99 per kind and
  overall, success@1 where the answer is known, each engine's peak RSS;
- a fresh `furat search --json QUERY` process per kind: its wall time, the time until its
  result is printed, and the search alone (`took_ms`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from random import Random
from typing import Any

from bench.corpus import PUNCT
from bench.judge import fold
from bench.openloop import pct
from bench.realtext import load_arcd

ROOT = Path(__file__).resolve().parent.parent
# Query kinds drawn from the corpus: an article's headline; 3-6 consecutive words of a body
# paragraph; 2-3 content words of a paragraph, in its order; one content word. ARCD: a
# question on a Wikipedia article added to the corpus.
KINDS = ("headline", "phrase", "words", "one_word")
ARCD_KIND = "arcd"
TARGETED = ("headline", "phrase", ARCD_KIND)  # kinds whose right answer is known
ENGINES = ("furat", "tantivy", "fts5")
NAMES = {"furat": "Furat", "tantivy": "Tantivy", "fts5": "FTS5"}
_BLOCKS = re.compile(r"\n\s*\n")
_ARABIC = re.compile("[\u0621-\u064a][\u0621-\u064a\u064b-\u0652\u0640]*")
_WORD = re.compile(r"\w+")
# Function words are not what people search for; folded as fold() folds.
_STOP_WORDS = """من في على إلى الى عن أن إن ان التي الذي الذين هذا هذه ذلك تلك هناك كان كانت
    يكون قد لا ما لم لن مع بين كل بعد قبل حتى أو او ثم عند منذ خلال حيث وقد وفي ومن وأن وان
    أنه انه إنه وهو وهي هو هي هم فيه فيها عليه عليها إليه له لها لهم به بها ومن وعلى كما التى
    الذى وكان وقال قال أكثر اكثر غير أي اي ليس إلا الا أما اما بن عبد أيضا ايضا"""
STOP = frozenset(fold(w) for w in _STOP_WORDS.split())


@dataclass(frozen=True)
class Query:
    """One query; doc: the article it was drawn from; answers: an ARCD question's answers."""

    kind: str
    q: str
    doc: str = ""
    answers: tuple[str, ...] = ()


def timed(label: str, fn: Callable[[], Any]) -> Any:
    """Run one section, logging its wall time to stderr."""
    started = time.perf_counter()
    result = fn()
    print(f"[bench] {label}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return result


def warm(db: Path) -> None:
    """Read the database file once, so that a phase starts from the OS page cache."""
    # A running bot works from a warm cache. Heavy phases before (the baselines build GBs of
    # index at 100k documents) can evict it, and the phase after would then time the disk.
    # Another process reads it: closing a descriptor of the file in this one would drop the
    # POSIX locks that SQLite connections here hold on it.
    subprocess.run(["cat", str(db)], stdout=subprocess.DEVNULL, check=True)


# --- queries ----------------------------------------------------------------------------


def read_article(path: Path) -> tuple[str, list[str]]:
    """Return an article file's headline and paragraphs, spaces collapsed."""
    text = path.read_text(encoding="utf-8")
    blocks = [" ".join(b.split()) for b in _BLOCKS.split(text) if b.strip()]
    return (blocks[0], blocks[1:]) if blocks else ("", [])


def _words(paragraph: str) -> list[str | None]:
    """Return each token's word without its punctuation, None where it is no Arabic word."""
    cores = (token.strip(PUNCT) for token in paragraph.split())
    return [core if _ARABIC.fullmatch(core) else None for core in cores]


def _content(paragraph: str, min_len: int = 3) -> list[str]:
    """Return the paragraph's distinct content words (first spelling of each), in order."""
    seen: dict[str, str] = {}
    for w in _words(paragraph):
        if w is not None and len(f := fold(w)) >= min_len and f not in STOP:
            seen.setdefault(f, w)
    return list(seen.values())


def draw(rng: Random, kind: str, headline: str, paragraphs: list[str]) -> str | None:
    """Draw a query of kind from one article, or None when the article has none to give."""
    if kind == "headline":
        return headline if len(headline.split()) >= 3 else None
    if kind == "phrase":
        long = [p for p in paragraphs if sum(w is not None for w in _words(p)) >= 8]
        if not long:
            return None
        tokens, size = rng.choice(long).split(), rng.randint(3, 6)
        words = [t.strip(PUNCT) for t in tokens]
        # Words only, and no punctuation between them: a phrase stays within a clause.
        starts = [
            i
            for i in range(len(words) - size + 1)
            if all(_ARABIC.fullmatch(w) for w in words[i : i + size])
            and all(t.rstrip(PUNCT) == t for t in tokens[i : i + size - 1])
            and all(t.lstrip(PUNCT) == t for t in tokens[i + 1 : i + size])
        ]
        if not starts:
            return None
        i = rng.choice(starts)
        return " ".join(words[i : i + size])
    if kind == "words":
        k = rng.randint(2, 3)
        pools = [c for c in map(_content, paragraphs) if len(c) >= k]
        if not pools:
            return None
        pool = rng.choice(pools)
        return " ".join(pool[i] for i in sorted(rng.sample(range(len(pool)), k)))
    if kind == "one_word":
        pools = [c for c in (_content(p, 4) for p in paragraphs) if c]
        return rng.choice(rng.choice(pools)) if pools else None
    raise ValueError(f"unknown query kind {kind!r}")


def make_queries(
    folder: Path,
    n: int,
    seed: int = 1,
    arcd: Sequence[tuple[str, Sequence[str]]] = (),
) -> list[Query]:
    """Draw n queries from the articles of folder (ARCD ones too when questions are given).

    The kinds come in equal shares, shuffled; each query is drawn from a random article.
    """
    names = sorted(
        name
        for name in os.listdir(folder)
        if name.endswith(".txt") and not name.startswith("arcd_")
    )
    kinds = [*KINDS, ARCD_KIND] if arcd else list(KINDS)
    rng = Random(f"real-queries:{seed}:{len(names)}")
    order = [kinds[i % len(kinds)] for i in range(n)]
    rng.shuffle(order)
    questions = list(arcd)
    rng.shuffle(questions)
    out: list[Query] = []
    for kind in order:
        if kind == ARCD_KIND:
            q, answers = questions[len(out) % len(questions)]
            out.append(Query(kind, q, answers=tuple(answers)))
            continue
        for _ in range(1000):
            name = rng.choice(names)
            drawn = draw(rng, kind, *read_article(folder / name))
            if drawn:
                out.append(Query(kind, drawn, doc=name[: -len(".txt")]))
                break
        else:
            raise ValueError(f"no article of {folder} gives a {kind} query")
    return out


# --- judging ----------------------------------------------------------------------------


def _sequence(text: str) -> str:
    return " " + " ".join(_WORD.findall(fold(text))) + " "


def correct(query: Query, top: Sequence[Any] | None, headline_of: Callable[[str], str]) -> bool:
    """Tell whether the first result [key, passage, near-copy keys] answers a known-item query.

    Right: the article the query was drawn from (or a near-copy folded with the result), or
    another article holding the same text (a reprint, or recombined text sharing sentences):
    the same headline for a headline, the phrase's words in order for a phrase. For ARCD, a
    passage holding an answer.
    """
    if not top:
        return False
    doc, passage, copies = top[0], top[1], top[2]
    if query.kind == ARCD_KIND:
        return any(fold(a).strip() in fold(passage) for a in query.answers)
    if doc == query.doc or query.doc in copies:
        return True
    if query.kind == "headline":
        return _sequence(headline_of(doc)) == _sequence(query.q)
    return _sequence(query.q) in _sequence(passage)


def percentiles(kinds: Sequence[str], times: Sequence[float]) -> dict[str, dict[str, float]]:
    """Return n, p50, p95 and p99 of the times of each kind, and of all of them as 'all'."""
    groups: dict[str, list[float]] = {}
    for kind, ms in zip(kinds, times, strict=True):
        groups.setdefault(kind, []).append(ms)
    known = [*KINDS, ARCD_KIND]
    order = sorted(groups, key=lambda k: (known.index(k) if k in known else len(known), k))
    out = {k: _summary(groups[k]) for k in order}
    if times:
        out["all"] = _summary(list(times))
    return out


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "p99": pct(values, 99),
    }


# --- phases -----------------------------------------------------------------------------


def _python(module: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m module args` from the checkout; return the JSON it prints."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode:
        raise RuntimeError(f"{module} {' '.join(args[:1])} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _bytes(db: Path) -> int:
    """Return the bytes of a SQLite file, its write-ahead log and its derived search index."""
    wal = db.with_name(db.name + "-wal")
    index = db.with_name(db.name + ".index")
    derived = sum(f.stat().st_size for f in index.rglob("*") if f.is_file())
    return db.stat().st_size + (wal.stat().st_size if wal.exists() else 0) + derived


def ingest(folder: Path, db: Path) -> dict[str, float]:
    """Ingest with Furat and with raw FTS5 inserts, each in its own process."""
    text_bytes = sum(f.stat().st_size for f in folder.glob("*.txt"))
    ours = _python("bench.ingestproc", "furat", str(db), str(folder))
    raw_db = db.with_name("raw_fts5.db")
    raw = _python("bench.ingestproc", "fts5", str(raw_db), str(folder))
    mb = text_bytes / 1e6
    return {
        "files": ours["files"],
        "text_bytes": text_bytes,
        "megabytes": mb,
        "furat_s": ours["seconds"],
        "index_s": ours["index_seconds"],
        "fts5_s": raw["seconds"],
        "ingest_mb_s": mb / ours["seconds"],
        "fts5_mb_s": mb / raw["seconds"],
        "ingest_docs_s": ours["files"] / ours["seconds"],
        "fts5_docs_s": raw["files"] / raw["seconds"],
        "ingest_ratio_vs_fts5": raw["seconds"] / ours["seconds"],
        "ingest_peak_mib": ours["peak_mib"],
        "fts5_ingest_peak_mib": raw["peak_mib"],
        "db_bytes": _bytes(db),
        "db_bytes_per_text_byte": _bytes(db) / text_bytes,
        "fts5_bytes_per_text_byte": _bytes(raw_db) / text_bytes,
    }


def search(db: Path, work: Path, queries: list[Query], folder: Path) -> dict[str, Any]:
    """Run the queries through each engine in its own process; latency and success@1."""
    query_file = work / "real_queries.txt"
    query_file.write_text("\n".join(q.q for q in queries), encoding="utf-8")
    headlines: dict[str, str] = {}

    def headline_of(doc: str) -> str:
        if doc not in headlines:
            path = folder / f"{doc}.txt"
            headlines[doc] = read_article(path)[0] if path.exists() else ""
        return headlines[doc]

    kinds = [q.kind for q in queries]
    out: dict[str, Any] = {}
    for engine in ENGINES:
        index = work / f"index_{engine}"
        warm(db)
        result = _python(
            "bench.engines", engine, str(db), str(query_file), "--docs", "--index", str(index)
        )
        hits: dict[str, list[bool]] = {}
        for q, found in zip(queries, result["results"], strict=True):
            if q.kind in TARGETED:
                top = found[0] if found else None
                hits.setdefault(q.kind, []).append(correct(q, top, headline_of))
        at1 = {k: sum(v) / len(v) for k, v in hits.items()}
        judged = [h for v in hits.values() for h in v]
        if judged:
            at1["all"] = sum(judged) / len(judged)
        out[engine] = {
            "latency": percentiles(kinds, result["times_ms"]),
            "success_at_1": at1,
            "peak_mib": result["peak_mib"],
            "index_bytes": result.get("index_bytes", 0),
            "build_s": result.get("build_s", 0.0),
        }
    return out


def fresh(db: Path, work: Path, queries: list[Query]) -> dict[str, Any]:
    """Time one fresh `furat search --json QUERY` process for the first query of each kind."""
    env = {
        **os.environ,
        "FURAT_DB": str(db),
        "FURAT_SEEDS": str(work / "no_seeds"),
        "FURAT_LOG_LEVEL": "WARNING",
    }
    firsts: dict[str, Query] = {}
    for q in queries:
        firsts.setdefault(q.kind, q)
    runs: list[dict[str, Any]] = []
    warm(db)
    for kind, q in firsts.items():
        with tempfile.TemporaryFile() as err:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "search", "--json", q.q],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
            assert proc.stdout is not None
            line = proc.stdout.readline()
            first = time.perf_counter() - started
            proc.stdout.read()
            # wait4, not wait: the rusage of this one child gives its peak RSS.
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            proc.stdout.close()
            if proc.returncode or not line:
                err.seek(0)
                raise RuntimeError(f"furat search failed: {err.read().decode()[-3000:]}")
        runs.append(
            {
                "kind": kind,
                "wall_ms": wall * 1000,
                "first_result_ms": first * 1000,
                "took_ms": float(json.loads(line)["took_ms"]),
                "peak_mib": usage.ru_maxrss / 1024,
            }
        )
    imports = []
    for _ in range(3):  # what every fresh process pays before opening the database
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import bot.cli"], cwd=ROOT, env=env, check=True)
        imports.append((time.perf_counter() - started) * 1000)
    for r in runs:  # what remains: opening the archive (one query loads the vocabulary itself)
        r["startup_ms"] = r["first_result_ms"] - r["took_ms"] - pct(imports, 50)
    return {
        "runs": runs,
        "fresh_imports_ms": pct(imports, 50),
        **{
            f"fresh_{key}": pct([r[key] for r in runs], 50)
            for key in ("wall_ms", "first_result_ms", "took_ms", "startup_ms", "peak_mib")
        },
    }


# --- the run ----------------------------------------------------------------------------


def corpus(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Fill folder with the run's articles (links to --real's files, or written sentences)."""
    folder.mkdir()
    info: dict[str, Any] = {"arcd_docs": 0, "arcd_questions": []}
    if args.real:
        files = sorted(args.real.glob("*.txt"))[: args.limit or None]
        if not files:
            raise SystemExit(f"python -m bench: no .txt articles in {args.real}")
        for f in files:
            (folder / f.name).symlink_to(f.resolve())
        info["docs"] = len(files)
        limit = f" --limit {args.limit}" if args.limit else ""
        arcd_path: Path | None = None if args.no_arcd else args.arcd
        if arcd_path is not None and arcd_path.exists():
            articles, questions = load_arcd(arcd_path)
            for i, (title, paragraphs) in enumerate(articles.items()):
                text = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
                (folder / f"arcd_{i:03d}.txt").write_text(text, encoding="utf-8")
            info["arcd_docs"] = len(articles)
            info["arcd_questions"] = [(q, a) for q, a in questions if a]
        extra = f" and {info['arcd_docs']} ARCD articles" if info["arcd_docs"] else ""
        info["title"] = (
            f"Real text, {len(files):,} articles{extra} (python -m bench --real DIR{limit})"
        )
        info["section"] = f"real-{len(files)}"
    else:
        if not any(args.snn.glob("*.zip")):
            raise SystemExit(
                f"python -m bench: --sentences reads SaudiNewsNet from {args.snn}, which is not "
                "here; without --sentences the corpus is the synthetic one"
            )
        # In a process of its own: the pool of sentences (about 200 MB) would otherwise stay
        # in this one, and a child's peak RSS counts its parent's at the fork.
        proc = subprocess.run(
            [sys.executable, "-m", "bench.sentences", str(args.docs), "--out", str(folder)]
            + ["--zips", str(args.snn)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if proc.returncode:
            raise RuntimeError(f"bench.sentences failed:\n{proc.stderr[-3000:]}")
        info["docs"] = args.docs
        info["title"] = (
            f"Real sentences, {args.docs:,} documents "
            f"(python -m bench --docs {args.docs} --sentences)"
        )
        info["section"] = f"sentences-{args.docs}"
    return info


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the real-text phases; return the figures (render() makes the table)."""
    m: dict[str, Any] = {"load_average": os.getloadavg()[0]}  # the machine may be shared
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "corpus"
        info = timed("corpus", lambda: corpus(args, folder))
        questions = info.pop("arcd_questions")
        m.update(info)
        db = work / "bench.db"
        m["ingest"] = timed("ingest", lambda: ingest(folder, db))
        conn = sqlite3.connect(db)
        try:
            m["passages"] = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        finally:
            conn.close()
        queries = timed(
            "queries", lambda: make_queries(folder, args.queries, seed=1, arcd=questions)
        )
        m["queries"] = len(queries)
        m["query_examples"] = {}
        for q in queries:
            m["query_examples"].setdefault(q.kind, q.q)
        m["search"] = timed("search", lambda: search(db, work, queries, folder))
        m["fresh"] = timed("fresh furat search", lambda: fresh(db, work, queries))
    furat = m["search"]["furat"]
    m["search_p50_ms"] = furat["latency"]["all"]["p50"]
    m["search_p95_ms"] = furat["latency"]["all"]["p95"]
    m["search_p99_ms"] = furat["latency"]["all"]["p99"]
    m["success_at_1"] = furat["success_at_1"].get("all", 0.0)
    for key in ("ingest_mb_s", "ingest_ratio_vs_fts5", "ingest_peak_mib", "db_bytes_per_text_byte"):
        m[key] = m["ingest"][key]
    m["search_peak_mib"] = furat["peak_mib"]
    m["tantivy_bytes_per_text_byte"] = (
        m["search"]["tantivy"]["index_bytes"] / m["ingest"]["text_bytes"]
    )
    for key in ("wall_ms", "first_result_ms", "took_ms", "imports_ms", "startup_ms"):
        m[f"fresh_{key}"] = m["fresh"][f"fresh_{key}"]
    return m


def _triple(lat: dict[str, float] | None) -> str:
    return f"{lat['p50']:.2f} / {lat['p95']:.2f} / {lat['p99']:.2f}" if lat else "—"


def latency_table(search: dict[str, Any]) -> list[str]:
    """Return the Markdown lines of the per-kind latency and success@1 table."""
    lines = [
        "| query kind | queries | "
        + " | ".join(f"{NAMES[e]} p50 / p95 / p99 ms" for e in ENGINES)
        + " | success@1 "
        + " / ".join(NAMES[e] for e in ENGINES)
        + " |",
        "|---" * (3 + len(ENGINES)) + "|",
    ]
    for kind, lat in search[ENGINES[0]]["latency"].items():
        cells = [_triple(search[e]["latency"].get(kind)) for e in ENGINES]
        at1 = [search[e]["success_at_1"].get(kind) for e in ENGINES]
        judged = " / ".join(f"{a:.3f}" for a in at1) if None not in at1 else "—"
        name = f"**{kind}**" if kind == "all" else kind
        lines.append(f"| {name} | {lat['n']:,} | " + " | ".join(cells) + f" | {judged} |")
    return lines


def render(m: dict[str, Any]) -> str:
    """Return the Markdown section of one real-text run."""
    ing, s, f = m["ingest"], m["search"], m["fresh"]
    rows = [
        (
            "ingest MB/s (docs/s)",
            f"{ing['ingest_mb_s']:.2f} ({ing['ingest_docs_s']:.0f})",
            f"raw FTS5 {ing['fts5_mb_s']:.2f} ({ing['fts5_docs_s']:.0f})",
        ),
        ("ingest ratio vs raw FTS5", f"{ing['ingest_ratio_vs_fts5']:.3f}", "1"),
        ("of the ingest seconds: following it with the search index", f"{ing['index_s']:.1f}", ""),
        (
            "ingest peak memory MiB",
            f"{ing['ingest_peak_mib']:.0f}",
            f"raw FTS5 {ing['fts5_ingest_peak_mib']:.0f}",
        ),
        (
            "database bytes per text byte (file + WAL + search index)",
            f"{ing['db_bytes_per_text_byte']:.2f}",
            f"raw FTS5 {ing['fts5_bytes_per_text_byte']:.2f} / "
            f"Tantivy {m['tantivy_bytes_per_text_byte']:.2f}",
        ),
        (
            "search peak memory MiB",
            f"{s['furat']['peak_mib']:.0f}",
            f"FTS5 {s['fts5']['peak_mib']:.0f} / Tantivy {s['tantivy']['peak_mib']:.0f}",
        ),
        (
            f"fresh `furat search` process, median of {len(f['runs'])} (one per kind): "
            "wall / first result printed / the search's took_ms (it loads the vocabulary), ms",
            f"{f['fresh_wall_ms']:.0f} / {f['fresh_first_result_ms']:.0f} / "
            f"{f['fresh_took_ms']:.1f}",
            "—",
        ),
        (
            "of which starting Python and importing the CLI (`python -c 'import bot.cli'`), ms",
            f"{f['fresh_imports_ms']:.0f}",
            "—",
        ),
        (
            "of which opening the archive (the rest before the search), ms",
            f"{f['fresh_startup_ms']:.0f}",
            "—",
        ),
        ("fresh `furat search` process peak memory MiB", f"{f['fresh_peak_mib']:.0f}", "—"),
    ]
    fresh_runs = ", ".join(
        f"{r['kind']} {r['wall_ms']:.0f} / {r['first_result_ms']:.0f} / {r['took_ms']:.1f}"
        for r in f["runs"]
    )
    examples = "; ".join(f"{k}: «{q}»" for k, q in m["query_examples"].items())
    lines = [
        f"## {m['title']}",
        "",
        f"Corpus: {ing['files']:,} documents, {ing['megabytes']:.1f} MB of text, "
        f"{m['passages']:,} Furat passages; {m['queries']:,} queries drawn from it, "
        f"{os.cpu_count()} cores, load average {m['load_average']:.1f} as the run began.",
        "",
        *latency_table(s),
        "",
        "| measure | Furat | baseline (same run) |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
        f"Fresh processes (wall / first result / search ms): {fresh_runs}.",
        "",
        f"Examples: {examples}.",
    ]
    return "\n".join(lines) + "\n"
