"""The judged query set in tests/eval: a floor that fails on regression."""

from __future__ import annotations

from bench.judge import Score, load_queries, rank_of
from storage.store import Store

# Measured 2026-11-22 (see bench/RESULTS.md); the floor sits a little below.
FLOOR_AT1 = 0.95
FLOOR_AT3 = 0.975
FLOOR_ENGLISH_AT1 = 0.94


async def test_judged_set_floor(store: Store) -> None:
    queries = load_queries()
    assert len(queries) >= 120
    score = Score()
    for q in queries:
        hits = await store.search(str(q["q"]), limit=10)
        score.add(q, rank_of(q, [h.passage for h in hits]))
    report = "\n".join(score.misses)
    assert score.success_at_1 >= FLOOR_AT1, report
    assert score.success_at_3 >= FLOOR_AT3, report
    assert score.kind_at1("english") >= FLOOR_ENGLISH_AT1, report
