"""The CLI contract that shared tools call: search --json / --stdin, ingest, stats."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pytest

from bot.cli import _search
from search.results import SearchHit
from storage.store import Store
from tests.conftest import SEEDS, furat


def check_line(line: str, query: str) -> dict[str, object]:
    obj = json.loads(line)
    assert set(obj) == {"query", "results", "took_ms"}
    assert obj["query"] == query
    assert isinstance(obj["took_ms"], float)
    for r in obj["results"]:
        keys = {"doc", "title", "outlet", "agency", "passage", "score", "url", "published"}
        assert set(r) == keys
        assert r["url"] is None or str(r["url"]).startswith(("http://", "https://"))
        assert r["published"] is None or isinstance(r["published"], str)
        assert isinstance(r["doc"], str) and isinstance(r["title"], str)
        assert r["outlet"] is None or isinstance(r["outlet"], str)
        assert r["agency"] is None or isinstance(r["agency"], str)
        assert isinstance(r["passage"], str) and "<b>" not in r["passage"]
        assert isinstance(r["score"], float)
    return obj


def test_search_json(tmp_path: Path) -> None:
    proc = furat(["search", "--json", "--limit", "3", "مركز مراقبة واتصالات"], tmp_path / "f.db")
    assert proc.returncode == 0, proc.stderr
    obj = check_line(proc.stdout.strip(), "مركز مراقبة واتصالات")
    results = obj["results"]
    assert isinstance(results, list) and len(results) == 3
    assert results[0]["doc"] == "000_d5ad7216e4dfa7f1"
    assert results[0]["url"] is None and results[0]["published"] is None  # from a file
    assert all("agency" in r for r in results)  # null when no dateline names an agency


def test_search_stdin_fifty_queries_in_order(tmp_path: Path) -> None:
    queries = [f"دير الزور {i}" if i % 3 else f'"{i}" NEAR(' for i in range(47)]
    queries += ["", "Raqqa", "!!!"]
    proc = furat(
        ["search", "--json", "--stdin", "--limit", "10"],
        tmp_path / "f.db",
        stdin="".join(q + "\n" for q in queries),
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 50
    for line, query in zip(lines, queries, strict=True):
        check_line(line, query)
    assert json.loads(lines[-3])["results"] == []


def test_search_readable_listing(tmp_path: Path) -> None:
    proc = furat(["search", "كاليبر"], tmp_path / "f.db")
    assert proc.returncode == 0
    assert proc.stdout.startswith("1. ") and "*كاليبر*" in proc.stdout
    proc = furat(["search", "zzzzqqq"], tmp_path / "f.db")
    assert "No results" in proc.stdout


def test_ingest_reports_and_stats(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00")
    proc = furat(["ingest", str(SEEDS), str(bad)], db)
    assert proc.returncode == 1
    assert "5 added, 0 updated, 0 unchanged, 1 failed" in proc.stdout
    assert "binary" in proc.stdout
    proc = furat(["ingest"], db)
    assert proc.returncode == 0
    assert "0 added, 0 updated, 5 unchanged, 0 failed" in proc.stdout
    proc = furat(["stats"], db)
    assert "documents  5" in proc.stdout and "passages   55" in proc.stdout


@pytest.mark.parametrize("args", [["search", "--limit", "x"], ["nope"]])
def test_bad_arguments_exit_nonzero(tmp_path: Path, args: list[str]) -> None:
    assert furat(args, tmp_path / "f.db").returncode == 2


def test_unreachable_postgresql_is_one_line_without_the_password() -> None:
    # Port 1 on loopback refuses at once: no server is needed to see the failure.
    result = furat(["stats"], db="postgresql://furat:s3cret-pw@127.0.0.1:1/furat")
    assert result.returncode == 1
    assert result.stderr.startswith("furat: cannot use the database postgresql://127.0.0.1:1/furat")
    assert "Traceback" not in result.stderr and "s3cret-pw" not in result.stderr + result.stdout


@pytest.mark.parametrize("stdin", [True, False], ids=["stream", "one-query"])
async def test_search_builds_what_queries_need_before_the_first(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: bool,
) -> None:
    ready: list[bool] = []
    search = Store.search

    async def timed(self: Store, query: str, limit: int = 10, offset: int = 0) -> list[SearchHit]:
        # The fuzzy lookup index is the costliest to build: a lazy build landed on one query.
        ready.append(self._vocab is not None and "_deletion_index" in vars(self._vocab))
        return await search(self, query, limit, offset)

    monkeypatch.setattr(Store, "search", timed)
    monkeypatch.setattr(sys, "stdin", io.StringIO("داعش\n"))
    args = argparse.Namespace(query="داعش", stdin=stdin, json=True, limit=3)
    assert await _search(store, args) == 0
    # A stream of queries has them built first; one query (one process) only what it needs.
    assert ready == [stdin]
    if not stdin:
        assert store._vocab is not None and "_deletion_index" not in vars(store._vocab)
    assert json.loads(capsys.readouterr().out)["results"]
