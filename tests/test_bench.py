"""A small run of `python -m bench`: the command works and its JSON has every key."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.openloop import openloop
from storage.backends import open_store
from tests.conftest import ROOT, SEEDS

KEYS = {
    "ingest_mb_s",
    "ingest_ratio_vs_fts5",
    "search_p50_ms",
    "search_p99_ms",
    "search_p50_ratio_vs_fts5",
    "search_p50_ratio_vs_tantivy",
    "success_at_1",
    "updates_per_s_inproc",
    "updates_per_s_http",
    "reply_p99_ms_http",
    "reply_p50_ms_at_50",
    "reply_p99_ms_at_50",
    "updates_per_s_1_replica",
    "updates_per_s_2_replicas",
    "match_s_100k_subs",
    "fanout_msgs_s",
    "pacing_error_pct",
    "max_loop_stall_ms",
    "loop_stall_idle_ms",
    "success_at_1_ratio_vs_best_baseline",
    "feeds_first_poll_s",
    "feeds_304_poll_s",
    "feeds_peak_mib",
}


PG_KEYS = {
    "pg_ingest_mb_s",
    "pg_search_p50_ms",
    "pg_search_p99_ms",
    "pg_success_at_1",
    "pg_updates_per_s_inproc",
    "pg_updates_per_s_http",
    "pg_reply_p50_ms_at_50",
    "pg_reply_p99_ms_at_50",
    "pg_updates_per_s_1_replica",
    "pg_updates_per_s_2_replicas",
    "pg_match_s_100k_subs",
    "pg_fanout_msgs_s",
}
# A small run of every phase: minutes at the defaults, seconds here.
SMALL = [
    *("--docs", "1000", "--subs", "2000", "--new-docs", "50", "--queries", "200"),
    *("--pushes", "60", "--updates", "100", "--openloop-seconds", "1"),
    *("--stall-users", "5", "--stall-chars", "300", "--stall-mb", "0.5"),
    *("--feeds", "5", "--feed-entries", "4", "--json"),
]


def run_bench(results: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a small `python -m bench --json`; return its figures."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *SMALL, "--results", str(results), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics: dict[str, Any] = json.loads(proc.stdout)
    return metrics


def test_bench_smoke(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    metrics = run_bench(results)
    assert set(metrics) >= KEYS
    assert not {k for k in metrics if k.startswith("pg_")}  # SQLite alone by default
    for key in KEYS:
        assert isinstance(metrics[key], int | float) and metrics[key] >= 0, key
    assert metrics["success_at_1"] > 0.5
    assert (metrics["feeds_new_articles"], metrics["feeds_not_modified"]) == (20, 5)
    for baseline in ("success_at_1_fts5", "success_at_1_tantivy"):
        assert 0 <= metrics[baseline] <= 1, baseline
    assert metrics["loop_stall_answers"] == 5 * 7  # every hostile input was answered
    table = results.read_text(encoding="utf-8")
    assert "## Benchmarks at 1,000 documents" in table and "max event-loop stall" in table


def test_bench_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    results = tmp_path / "RESULTS.md"
    env = {**os.environ, "FURAT_BENCH_PG": pg_url}
    metrics = run_bench(results, "--backend", "postgresql", env=env)
    assert set(metrics) >= PG_KEYS
    for key in PG_KEYS:
        value = metrics[key]
        assert isinstance(value, int | float) and value > 0, key
    assert isinstance(metrics["pg_success_at_1"], float) and metrics["pg_success_at_1"] > 0.5
    # The SQLite phases did not run: their keys are absent, their column empty.
    assert "search_p99_ms" not in metrics
    table = results.read_text(encoding="utf-8")
    assert "| measure | SQLite | PostgreSQL |" in table and "| search p99 ms" in table
    assert "## Benchmarks at" not in table


def test_open_loop_answers_every_update_once(tmp_path: Path) -> None:
    db = tmp_path / "seeds.db"

    async def build() -> None:
        store = await open_store(db, seeds=SEEDS)
        await store.close()

    asyncio.run(build())
    m = openloop(db, n_docs=1000, rate=10, seconds=2, n_throughput=30)
    assert (m["openloop_sent"], m["openloop_answered"], m["openloop_extra_replies"]) == (20, 20, 0)
    # Warm-ups (4 per replica) and two closed-loop runs of 30, besides the 20 above.
    assert m["updates_sent"] == 20 + 4 + 30 + 8 + 30
    assert (m["updates_unanswered"], m["updates_extra_replies"]) == (0, 0)
    for key in (
        "reply_p50_ms_at_50",
        "reply_p99_ms_at_50",
        "updates_per_s_1_replica",
        "updates_per_s_2_replicas",
    ):
        assert isinstance(m[key], float) and m[key] > 0, key
    assert m["reply_p50_ms_at_50"] <= m["reply_p99_ms_at_50"]
