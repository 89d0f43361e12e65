"""Search quality on real text nobody on the team wrote: ARCD questions on Wikipedia articles.

Read at run time from `../shared/outside/` beside the checkout (never copied into the
repository); `python -m bench.eval` adds this section when that folder is present and says so
when it is not. The whole news archive is measured by `../shared/outside/archive_eval.py`.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench.judge import fold
from storage.backends import open_store

OUTSIDE = Path(__file__).resolve().parent.parent.parent / "shared" / "outside"
ARCD = OUTSIDE / "data" / "arcd" / "arcd-train.json"


def load_arcd(path: Path) -> tuple[dict[str, list[str]], list[tuple[str, list[str]]]]:
    """Return the articles (title -> paragraphs, merged by title) and (question, answers)."""
    articles: dict[str, list[str]] = {}
    questions = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        paragraphs = articles.setdefault(article["title"].strip(), [])
        for p in article["paragraphs"]:
            context = " ".join(p["context"].split())
            if context not in paragraphs:
                paragraphs.append(context)
            for qa in p["qas"]:
                answers = [a["text"] for a in qa["answers"]]
                questions.append((" ".join(qa["question"].split()), answers))
    return articles, questions


def _write(articles: dict[str, list[str]], folder: Path) -> None:
    folder.mkdir()
    for i, (title, paragraphs) in enumerate(articles.items()):
        text = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
        (folder / f"arcd_{i:03d}.txt").write_text(text, encoding="utf-8")


def _rank(passages: list[str], answers: list[str]) -> int | None:
    wanted = [fold(a).strip() for a in answers]
    return next((i for i, p in enumerate(passages, 1) if any(w in fold(p) for w in wanted)), None)


async def _measure(tmp: Path, questions: list[tuple[str, list[str]]]) -> tuple[list, list]:
    store = await open_store(tmp / "arcd.db", seeds=tmp / "none")
    ranks, times = [], []
    try:
        await store.ingest([tmp / "arcd"])
        await store.warm_up()
        for question, answers in questions:
            started = time.perf_counter()
            hits = await store.search(question, limit=10)
            times.append((time.perf_counter() - started) * 1000)
            ranks.append(_rank([h.passage for h in hits], answers))
    finally:
        await store.close()
    return ranks, times


def arcd_section(path: Path = ARCD) -> str:
    """Return the ARCD table: the answer-bearing passage at 1, 3 and 10, and latency."""
    if not path.exists():
        return f"Real text: `{path}` is not here; ARCD was not measured."
    articles, questions = load_arcd(path)
    with tempfile.TemporaryDirectory() as tmp:
        _write(articles, Path(tmp) / "arcd")
        ranks, times = asyncio.run(_measure(Path(tmp), questions))
    n = len(ranks)
    at = {k: sum(1 for r in ranks if r and r <= k) / n for k in (1, 3, 10)}
    times.sort()
    return (
        f"Real text: ARCD train split, {n} questions on {len(articles)} Wikipedia articles "
        f"(`{path.name}`), answer-bearing passage:\n\n"
        "| engine | success@1 | success@3 | success@10 | median ms | p99 ms |\n"
        "|---|---|---|---|---|---|\n"
        f"| Furat | {at[1]:.3f} | {at[3]:.3f} | {at[10]:.3f} | {times[n // 2]:.1f} "
        f"| {times[int(n * 0.99)]:.1f} |"
    )
