"""Fetching on a local server: URL rules, conditional GET, limits, redirects, private addresses."""

from __future__ import annotations

import asyncio
import gzip
import threading
import tracemalloc
import zlib
from collections.abc import Iterator

import pytest

import sources.fetch
from sources.fetch import Fetcher, FetchError, FetchLimits, parse_retry_after
from sources.urls import AddressPolicy, UnsafeURL, canonical_url, check_public, check_scheme
from tests.web.server import WebServer, serve

# The test server is on loopback: treat 127.0.0.1 as public, every other private address not.
POLICY = AddressPolicy(public_override=frozenset({"127.0.0.1"}))
FAST = FetchLimits(timeout_s=1.0, max_bytes=100_000)


@pytest.fixture
def web() -> Iterator[WebServer]:
    with serve() as server:
        yield server


@pytest.fixture
def other() -> Iterator[WebServer]:
    """A second server on 127.0.0.2, an address the policy refuses."""
    with serve("127.0.0.2") as server:
        yield server


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM:80/a?b=1#top", "http://example.com/a?b=1"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://e.com/a?utm_source=rss&id=7&utm_medium=feed", "https://e.com/a?id=7"),
        ("https://e.com/a?fbclid=1&gclid=2&mc_cid=3&mc_eid=4&igshid=5", "https://e.com/a"),
        ("https://e.com/a?ref_src=twsrc&_ga=1&yclid=2&q=%D8%A7+b", "https://e.com/a?q=%D8%A7+b"),
        ("https://e.com/a?z=1&a=2&z=3", "https://e.com/a?z=1&a=2&z=3"),
        ("https://e.com/%D8%AE%D8%A8%D8%B1?p=", "https://e.com/%D8%AE%D8%A8%D8%B1?p="),
        ("  https://E.com/a?UTM_Campaign=x  ", "https://e.com/a"),
        ("http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/feed", "only http and https URLs can be fetched"),
        ("file:///etc/passwd", "only http and https URLs can be fetched"),
        ("javascript:alert(1)", "only http and https URLs can be fetched"),
        ("http:///nohost", "the URL has no host"),
        ("http://example.com:99999/", "invalid port"),
    ],
)
def test_check_scheme_refuses(url: str, message: str) -> None:
    with pytest.raises(UnsafeURL, match=message):
        check_scheme(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://localhost:8080/", "localhost resolves to a loopback address (127.0.0.1)"),
        ("http://10.0.0.5/", "10.0.0.5 is a private address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://0.0.0.0/", "0.0.0.0 is a unspecified address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1 is a private address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://100.64.0.1/", "100.64.0.1 is a reserved address"),
        ("http://no-such-host.invalid/", "cannot resolve no-such-host.invalid"),
    ],
)
async def test_check_public_refuses(url: str, message: str) -> None:
    with pytest.raises(UnsafeURL, match=message.replace("(", r"\(").replace(")", r"\)")):
        await check_public(url, AddressPolicy())


async def test_check_public_allows() -> None:
    await check_public("http://8.8.8.8/feed", AddressPolicy())
    await check_public("http://127.0.0.1/", AddressPolicy(allow_private=True))
    await check_public("http://127.0.0.1/", POLICY)


@pytest.mark.parametrize(
    ("env", "allowed"),
    [
        ({}, False),
        ({"FURAT_ALLOW_PRIVATE_URLS": "1"}, True),
        ({"FURAT_ALLOW_PRIVATE_URLS": "0"}, False),
    ],
)
def test_policy_from_env(env: dict[str, str], allowed: bool) -> None:
    assert AddressPolicy.from_env(env)("10.0.0.1") is allowed


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Thu, 01 Jan 1970 00:02:00 GMT", 60.0),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=60.0) == seconds


async def test_get_returns_body_headers_and_names_furat(web: WebServer) -> None:
    web.add("/feed.xml", "<rss/>", content_type="application/rss+xml; charset=windows-1256",
            etag='"v1"', last_modified="Mon, 30 Nov 2026 12:00:00 GMT")
    async with Fetcher(FAST, POLICY) as fetcher:
        got = await fetcher.get(web.url("/feed.xml"))
    assert (got.status, got.body, got.url) == (200, b"<rss/>", web.url("/feed.xml"))
    assert (got.content_type, got.charset) == ("application/rss+xml", "windows-1256")
    assert (got.etag, got.last_modified) == ('"v1"', "Mon, 30 Nov 2026 12:00:00 GMT")
    assert web.requests[0][1]["user-agent"].startswith("Furat/")
    assert "+https://github.com/furat-bot/furat" in web.requests[0][1]["user-agent"]


async def test_gzip_body_is_decoded(web: WebServer) -> None:
    web.add("/z", gzip.compress("خبر".encode() * 100), headers={"Content-Encoding": "gzip"})
    async with Fetcher(FAST, POLICY) as fetcher:
        got = await fetcher.get(web.url("/z"))
    assert got.body == "خبر".encode() * 100


@pytest.mark.parametrize(
    ("etag", "modified"),
    [
        ('"v1"', None),
        (None, "Mon, 30 Nov 2026 12:00:00 GMT"),
        ('"v1"', "Mon, 30 Nov 2026 12:00:00 GMT"),
    ],
)
async def test_conditional_get_304_costs_one_request(
    web: WebServer, etag: str | None, modified: str | None
) -> None:
    web.add("/feed.xml", "<rss/>", etag='"v1"', last_modified="Mon, 30 Nov 2026 12:00:00 GMT")
    async with Fetcher(FAST, POLICY) as fetcher:
        got = await fetcher.get(web.url("/feed.xml"), etag=etag, last_modified=modified)
    assert (got.status, got.body) == (304, b"")
    assert web.hits["/feed.xml"] == 1
    headers = web.requests[0][1]
    assert headers.get("if-none-match") == etag
    assert headers.get("if-modified-since") == modified


async def test_changed_etag_gets_the_new_body(web: WebServer) -> None:
    web.add("/feed.xml", "<rss>new</rss>", etag='"v2"')
    async with Fetcher(FAST, POLICY) as fetcher:
        got = await fetcher.get(web.url("/feed.xml"), etag='"v1"')
    assert (got.status, got.body, got.etag) == (200, b"<rss>new</rss>", '"v2"')


@pytest.mark.parametrize(
    ("code", "headers", "retry_after"),
    [
        (404, {}, None),
        (500, {}, None),
        (429, {"Retry-After": "120"}, 120.0),
        (503, {"Retry-After": "7"}, 7.0),
    ],
)
async def test_http_errors(
    web: WebServer, code: int, headers: dict[str, str], retry_after: float | None
) -> None:
    web.status("/x", code, headers)
    async with Fetcher(FAST, POLICY) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(web.url("/x"))
    assert caught.value.reason == f"HTTP {code}"
    assert (caught.value.status, caught.value.retry_after) == (code, retry_after)


async def test_connection_refused_is_a_fetch_error(web: WebServer) -> None:
    url = web.url("/x")
    web.stop()
    async with Fetcher(FAST, POLICY) as fetcher:
        with pytest.raises(FetchError, match="cannot connect to 127.0.0.1:"):
            await fetcher.get(url)


async def test_never_ending_feed_times_out_without_blocking_others(web: WebServer) -> None:
    web.never_ending("/forever.xml", b'<?xml version="1.0"?><rss version="2.0"><channel>')
    web.add("/ok.xml", "<rss/>")
    async with Fetcher(FAST, POLICY) as fetcher:
        forever = asyncio.create_task(fetcher.get(web.url("/forever.xml")))
        ok = asyncio.create_task(fetcher.get(web.url("/ok.xml")))
        done, _ = await asyncio.wait({forever, ok}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {ok}
        assert ok.result().body == b"<rss/>"
        with pytest.raises(FetchError) as caught:
            await forever
    assert caught.value.reason == "timed out after 1 s"


async def test_slow_server_times_out(web: WebServer) -> None:
    web.slow("/slow", delay=60)
    async with Fetcher(FetchLimits(timeout_s=0.5), POLICY) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(web.url("/slow"))
    assert caught.value.reason == "timed out after 0.5 s"


async def test_endless_body_is_cut(web: WebServer) -> None:
    web.endless("/endless")
    web.add("/ok", "fine")
    async with Fetcher(FAST, POLICY) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(web.url("/endless"))
        assert (await fetcher.get(web.url("/ok"))).body == b"fine"
    assert caught.value.reason == "response larger than 100000 bytes: cut"


async def test_declared_oversize_is_refused_before_reading(web: WebServer) -> None:
    web.add("/big", b"x" * 100_001)
    async with Fetcher(FAST, POLICY) as fetcher:
        with pytest.raises(FetchError, match="larger than 100000 bytes"):
            await fetcher.get(web.url("/big"))


async def test_redirects_are_followed_and_relative_locations_resolved(web: WebServer) -> None:
    web.redirect("/old", "/middle?x=1", code=301)
    web.redirect("/middle", web.url("/new"), code=307)
    web.add("/new", "here")
    async with Fetcher(FAST, POLICY) as fetcher:
        got = await fetcher.get(web.url("/old"))
    assert (got.url, got.body) == (web.url("/new"), b"here")


async def test_redirect_loop_is_too_many_redirects(web: WebServer) -> None:
    web.redirect("/a", "/b")
    web.redirect("/b", "/a")
    async with Fetcher(FAST, POLICY) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(web.url("/a"))
    assert caught.value.reason == "too many redirects (5)"
    assert web.hits["/a"] + web.hits["/b"] == 6


async def test_redirect_to_private_address_is_refused_without_connecting(
    web: WebServer, other: WebServer
) -> None:
    other.add("/secret", "internal")
    web.redirect("/feed", other.url("/secret"))
    async with Fetcher(FAST, POLICY) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.get(web.url("/feed"))
    assert caught.value.reason == (
        f"redirect to {other.url('/secret')} refused: 127.0.0.2 is a loopback address"
        " (set FURAT_ALLOW_PRIVATE_URLS=1 to allow)"
    )
    assert other.hits["/secret"] == 0
    # The same redirect reaches the server when the policy allows it: the refusal was the policy.
    allowing = AddressPolicy(public_override=frozenset({"127.0.0.1", "127.0.0.2"}))
    async with Fetcher(FAST, allowing) as fetcher:
        assert (await fetcher.get(web.url("/feed"))).body == b"internal"
    assert other.hits["/secret"] == 1


async def test_redirect_to_metadata_address_is_refused(web: WebServer) -> None:
    web.redirect("/feed", "http://169.254.169.254/latest/meta-data/")
    web.redirect("/ftp", "ftp://example.com/feed")
    async with Fetcher(FAST, POLICY) as fetcher:
        with pytest.raises(FetchError, match="169.254.169.254 is a link-local address"):
            await fetcher.get(web.url("/feed"))
        with pytest.raises(FetchError, match="only http and https"):
            await fetcher.get(web.url("/ftp"))


async def test_unresolvable_host_is_a_fetch_error() -> None:
    async with Fetcher(FAST, AddressPolicy()) as fetcher:
        with pytest.raises(FetchError, match="cannot resolve no-such-host.invalid"):
            await fetcher.get("http://no-such-host.invalid/feed.xml")


async def test_private_url_is_refused_up_front(web: WebServer) -> None:
    web.add("/x", "x")
    async with Fetcher(FAST, AddressPolicy()) as fetcher:
        with pytest.raises(UnsafeURL, match="127.0.0.1 is a loopback address"):
            await fetcher.get(web.url("/x"))
    assert web.hits["/x"] == 0


async def test_connect_time_check_stops_a_name_that_changed_address(
    other: WebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the per-hop check is fooled (DNS rebinding), the connection itself is refused."""

    async def fooled(url: str, policy: AddressPolicy) -> None:
        return None

    other.add("/secret", "internal")
    monkeypatch.setattr(sources.fetch, "check_public", fooled)
    async with Fetcher(FAST, POLICY) as fetcher:
        with pytest.raises(FetchError, match="refused when connecting: 127.0.0.2 is a loopback"):
            await fetcher.get(other.url("/secret"))
    assert other.hits["/secret"] == 0


class Held:
    """A route that holds each request until released, counting how many are held at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = self.peak = 0
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, req: object) -> None:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        self.arrived.release()
        self.release.wait(10)
        with self.lock:
            self.active -= 1
        req.send(200, b"ok")  # type: ignore[attr-defined]

    async def run(self, fetcher: Fetcher, urls: list[str], first: int) -> list[bytes]:
        """Fetch urls at once, release them after first arrivals, return the bodies."""
        tasks = [asyncio.create_task(fetcher.get(url)) for url in urls]
        for _ in range(first):
            await asyncio.to_thread(self.arrived.acquire)
        self.release.set()
        return [r.body for r in await asyncio.gather(*tasks)]


async def test_at_most_per_host_requests_at_once(web: WebServer) -> None:
    held = Held()
    web.handle("/held", held)
    urls = [web.url(f"/held?n={i}") for i in range(5)]
    async with Fetcher(FetchLimits(timeout_s=20, per_host=2), POLICY) as fetcher:
        assert await held.run(fetcher, urls, first=2) == [b"ok"] * 5
    assert held.peak == 2


async def test_at_most_total_requests_at_once(web: WebServer, other: WebServer) -> None:
    held = Held()
    web.handle("/held", held)
    other.handle("/held", held)
    urls = [s.url(f"/held?n={i}") for i in range(3) for s in (web, other)]
    both = AddressPolicy(public_override=frozenset({"127.0.0.1", "127.0.0.2"}))
    async with Fetcher(FetchLimits(timeout_s=20, per_host=2, total=3), both) as fetcher:
        assert await held.run(fetcher, urls, first=3) == [b"ok"] * 6
    assert held.peak == 3


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_bomb_is_cut_without_inflating_it(web: WebServer, encoding: str) -> None:
    zeros = b"\0" * 50_000_000
    packed = gzip.compress(zeros) if encoding == "gzip" else zlib.compress(zeros)
    del zeros
    web.add("/bomb", packed, headers={"Content-Encoding": encoding})
    async with Fetcher(FAST, POLICY) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError) as caught:
                await fetcher.get(web.url("/bomb"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert caught.value.reason == "response larger than 100000 bytes: cut"
    assert peak < 5_000_000  # a few read buffers, never the 50 MB the body inflates to
