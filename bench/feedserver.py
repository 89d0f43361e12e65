"""A local web of outlets for the feeds benchmark: RSS feeds and furnished article pages.

usage: python -m bench.feedserver FEEDS ENTRIES
Prints the port it listens on (127.0.0.1), then serves until killed. Feed i lists entries
(i, 0..ENTRIES-1); every feed answers If-None-Match with 304. Article texts come from the
benchmark corpus, so pages are as long and as Arabic as the archive's.
"""

from __future__ import annotations

import html
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice

from bench.corpus import generate

ETAG = '"bench-v1"'


def page(title: str, paragraphs: list[str]) -> bytes:
    """Return an article page wrapped in the furniture news sites carry."""
    menu = "".join(f"<li><a href='/s/{i}'>قسم {i}</a></li>" for i in range(12))
    related = "".join(f"<li><a href='/r/{i}'>خبر ذو صلة رقم {i}</a></li>" for i in range(8))
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html><html lang='ar' dir='rtl'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><script>var t = 1;</script></head><body>"
        f"<header><nav><ul>{menu}</ul></nav></header><main><article>"
        f"<h1>{html.escape(title)}</h1>{body}</article>"
        f"<aside class='related'><h3>اقرأ أيضاً</h3><ul>{related}</ul></aside>"
        "<section id='comments'><p>تعليق من قارئ</p></section></main>"
        "<footer><p>جميع الحقوق محفوظة</p></footer></body></html>"
    ).encode()


class Outlets:
    """Every feed and page, rendered once up front so serving costs no CPU."""

    def __init__(self, feeds: int, entries: int) -> None:
        self.files: dict[str, bytes] = {}
        docs = islice(generate(feeds * entries + 5), 5, None)  # past the five seeds
        start = datetime(2026, 11, 30, tzinfo=UTC)
        for i in range(feeds):
            items = []
            for j in range(entries):
                _, text = next(docs)
                blocks = [b.strip() for b in text.split("\n\n") if b.strip()]
                title, paragraphs = blocks[0], blocks[1:] or blocks
                path = f"/news/{i}/{j}.html"
                self.files[path] = page(title, paragraphs)
                when = format_datetime(start - timedelta(minutes=i * entries + j))
                items.append(
                    f"<item><title>{html.escape(title)}</title><link>http://HOST{path}</link>"
                    f"<guid isPermaLink='false'>bench-{i}-{j}</guid><pubDate>{when}</pubDate>"
                    f"<description>{html.escape(paragraphs[0][:300])}</description></item>"
                )
            self.files[f"/feed/{i}.xml"] = (
                "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                f"<title>منفذ {i}</title><link>http://HOST/</link><description>bench</description>"
                + "".join(items)
                + "</channel></rss>"
            ).encode()


def main() -> None:
    """Serve the outlets on a free port of 127.0.0.1; print the port."""
    feeds, entries = int(sys.argv[1]), int(sys.argv[2])
    outlets = Outlets(feeds, entries)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm the body would wait
        # for the client's delayed ACK, 40 ms a response on Linux.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            """Stay quiet."""

        def do_GET(self) -> None:
            """Serve a feed (304 when unchanged) or a page."""
            body = outlets.files.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            feed = self.path.startswith("/feed/")
            if feed and self.headers.get("If-None-Match") == ETAG:
                self.send_response(304)
                self.send_header("ETag", ETAG)
                self.end_headers()
                return
            body = body.replace(b"http://HOST", f"http://{self.headers['Host']}".encode())
            self.send_response(200)
            kind = "application/rss+xml" if feed else "text/html; charset=utf-8"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if feed:
                self.send_header("ETag", ETAG)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
