"""`furat feeds …`: add, list, remove, import, export and poll, each in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sources.opml import OpmlError, opml_document, read_opml
from tests.conftest import ROOT, furat
from tests.web.fixtures import article_page, article_path, rss_feed, seed_articles
from tests.web.server import WebServer, serve

LOCAL = {"FURAT_ALLOW_PRIVATE_URLS": "1"}  # the test's web server is on loopback


@pytest.fixture
def web() -> Iterator[WebServer]:
    with serve() as server:
        yield server


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/feed", "http"),
        ("file:///etc/passwd", "http"),
        ("javascript:alert(1)", "http"),
        ("http://127.0.0.1:8080/rss", "127.0.0.1"),
        ("http://localhost/rss", "localhost"),
        ("http://[::1]/rss", "::1"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
        ("http://10.1.2.3/rss", "10.1.2.3"),
    ],
)
def test_add_refuses_what_it_must_not_fetch(tmp_path: Path, url: str, why: str) -> None:
    proc = furat(["feeds", "add", url], tmp_path / "f.db")
    assert proc.returncode == 2
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert why in line
    listed = furat(["feeds", "list", "--json"], tmp_path / "f.db")
    assert json.loads(listed.stdout) == []


def test_add_list_remove(tmp_path: Path) -> None:
    db = tmp_path / "f.db"
    url = "http://127.0.0.1:9/rss?utm_source=x#top"
    added = furat(["feeds", "add", url, "--name", "A"], db, **LOCAL)
    assert added.returncode == 0, added.stderr
    feed_id = int(added.stdout)
    again = furat(["feeds", "add", "http://127.0.0.1:9/rss"], db, **LOCAL)
    assert again.returncode == 2 and f"id {feed_id}" in again.stderr
    [feed] = json.loads(furat(["feeds", "list", "--json"], db).stdout)
    assert feed == {
        "id": feed_id,
        "url": "http://127.0.0.1:9/rss",
        "name": "A",
        "last_polled": None,
        "last_status": None,
        "articles": 0,
        "errors": 0,
    }
    assert furat(["feeds", "remove", "http://127.0.0.1:9/rss"], db).returncode == 0
    assert json.loads(furat(["feeds", "list", "--json"], db).stdout) == []
    gone = furat(["feeds", "remove", str(feed_id)], db)
    assert gone.returncode == 1 and "no feed" in gone.stderr


def test_export_then_import_gives_the_same_feeds(tmp_path: Path) -> None:
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    for url, name in [("http://127.0.0.1:9/a.xml", "أخبار"), ("http://127.0.0.1:9/b.xml", None)]:
        args = ["feeds", "add", url] + (["--name", name] if name else [])
        assert furat(args, one, **LOCAL).returncode == 0
    exported = furat(["feeds", "export"], one)
    assert exported.returncode == 0
    opml = tmp_path / "feeds.opml"
    opml.write_text(exported.stdout, encoding="utf-8")
    imported = furat(["feeds", "import", str(opml)], two, **LOCAL)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    listed = [
        [(f["url"], f["name"]) for f in json.loads(furat(["feeds", "list", "--json"], db).stdout)]
        for db in (one, two)
    ]
    expected = [("http://127.0.0.1:9/a.xml", "أخبار"), ("http://127.0.0.1:9/b.xml", None)]
    assert listed[0] == listed[1] == expected
    # Importing again adds nothing.
    assert "0 added" in furat(["feeds", "import", str(opml)], two, **LOCAL).stdout


def test_poll_prints_one_json_line_per_feed_and_fails_when_any_failed(
    tmp_path: Path, web: WebServer
) -> None:
    db = tmp_path / "f.db"
    env = {**LOCAL, "FURAT_SEEDS": str(tmp_path / "no-seeds")}  # only the feed's articles
    articles = seed_articles()[:2]
    for a in articles:
        web.add(article_path(a), article_page(a), content_type="text/html")
    web.add("/rss.xml", rss_feed(articles, web.url("")))
    web.status("/broken.xml", 500)
    for path in ("/rss.xml", "/broken.xml"):
        assert furat(["feeds", "add", web.url(path)], db, **env).returncode == 0
    proc = furat(["feeds", "poll", "--json"], db, **env)
    assert proc.returncode == 1
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(x["status"], x["new"], x["updated"]) for x in lines] == [
        ("ok", 2, 0),
        ("error", 0, 0),
    ]
    assert lines[0]["error"] is None and "500" in lines[1]["error"]
    assert set(lines[0]) == {"feed", "url", "status", "new", "updated", "error"}
    # The articles are searchable, with their links, from another process.
    found = furat(["search", "--json", articles[0].paragraphs[1]], db, **env)
    [first, *_] = json.loads(found.stdout)["results"]
    assert first["url"] == web.url(article_path(articles[0]))
    assert furat(["feeds", "remove", "2"], db).returncode == 0
    again = furat(["feeds", "poll"], db, **env)
    assert again.returncode == 0 and "0 new, 0 updated" in again.stdout


def test_two_polls_at_once_read_each_feed_once(tmp_path: Path, web: WebServer) -> None:
    db = tmp_path / "f.db"
    env = {**os.environ, "FURAT_DB": str(db), "FURAT_SEEDS": str(tmp_path / "none"), **LOCAL}
    articles = seed_articles()[:4]
    feeds = [f"/feed{i}.xml" for i in range(len(articles))]
    for path, a in zip(feeds, articles, strict=True):
        web.add(article_path(a), article_page(a), content_type="text/html")
        web.add(path, rss_feed([a], web.url("")))
        assert furat(["feeds", "add", web.url(path)], db, **env).returncode == 0
    # The feeds answer only once the second poll has run: the first holds its claims meanwhile,
    # however slowly either process starts.
    gate = threading.Event()
    for path, a in zip(feeds, articles, strict=True):
        body = rss_feed([a], web.url(""))

        def held(req: Any, body: bytes = body) -> None:
            gate.wait(60)
            req.send(200, body, {"Content-Type": "text/html; charset=utf-8"})

        web.handle(path, held)
    asked = sum(web.hits[path] for path in feeds)
    poll = [sys.executable, "-m", "bot", "feeds", "poll", "--json"]
    first = subprocess.Popen(poll, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while sum(web.hits[path] for path in feeds) == asked and time.monotonic() < deadline:
            time.sleep(0.02)  # the first poll has claimed the feeds once it fetches one
        second = subprocess.run(
            poll, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        gate.set()
    lines = [json.loads(line) for line in first.communicate(timeout=120)[0].splitlines()]
    assert first.returncode == 0 and second.returncode == 0
    # A feed claimed by one process is left to it by the other.
    assert second.stdout == ""
    assert sorted(x["feed"] for x in lines) == [1, 2, 3, 4]
    assert sum(x["new"] for x in lines) == 4
    assert all(web.hits[article_path(a)] == 1 for a in articles)


@pytest.mark.parametrize(
    ("data", "feeds"),
    [
        (
            b'<opml version="1.0"><body><outline text="News"><outline text="A" '
            b'xmlUrl="https://a.example/rss"/></outline></body></opml>',
            [("https://a.example/rss", "A")],
        ),
        (b'<opml><body><outline text="folder"/></body></opml>', []),
        (
            b'<opml><body><outline xmlUrl="https://a.example/rss"/>'
            b'<outline title="again" xmlUrl="https://a.example/rss"/></body></opml>',
            [("https://a.example/rss", None)],
        ),
    ],
)
def test_read_opml(data: bytes, feeds: list[tuple[str, str | None]]) -> None:
    assert read_opml(data) == feeds


@pytest.mark.parametrize(
    "data",
    [
        b"not xml",
        b"<rss></rss>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><opml>&a;</opml>',
    ],
)
def test_read_opml_refuses(data: bytes) -> None:
    with pytest.raises(OpmlError):
        read_opml(data)


def test_opml_round_trip() -> None:
    feeds = [("https://a.example/rss?x=1&y=2", "أ & ب"), ("https://b.example/atom", None)]
    assert read_opml(opml_document(feeds).encode()) == feeds
