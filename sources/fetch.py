"""Fetch URLs like a good citizen: one client, bounded concurrency, time and size."""

from __future__ import annotations

import asyncio
import email.utils
import time
import zlib
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from sources.urls import (
    AddressPolicy,
    Unresolvable,
    UnsafeURL,
    check_public,
    check_scheme,
    resolve_checked,
)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9,"
    " text/html;q=0.8, */*;q=0.5"
)


def default_user_agent() -> str:
    """Return the User-Agent naming Furat, its version and where to read about it."""
    try:
        version = metadata.version("furat")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"Furat/{version} (+https://github.com/furat-bot/furat)"


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on every fetch: seconds per request, body bytes, redirects, parallel requests."""

    timeout_s: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    per_host: int = 2
    total: int = 16


class FetchError(Exception):
    """A fetch that failed; reason is one line for the operator."""

    def __init__(
        self, reason: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = " ".join(reason.split())
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Fetched:
    """A response: final URL, 200 (or another 2xx) with its body, or 304 with none."""

    url: str
    status: int
    body: bytes
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the seconds a Retry-After header (seconds or HTTP-date) asks to wait."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve and check the address at connect time too, then connect to the checked IP."""

    # A per-hop check alone can be fooled by DNS rebinding: the name may resolve to a public
    # address for the check and to a private one when the connection is made.

    def __init__(self, inner: httpcore.AsyncNetworkBackend, policy: AddressPolicy) -> None:
        self._inner = inner
        self._policy = policy

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        ips = await resolve_checked(host, port, self._policy)
        error: Exception | None = None
        for ip in ips:
            try:
                return await self._inner.connect_tcp(
                    ip, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _inflater(encoding: str) -> Any:
    """Return a zlib decompressor for a Content-Encoding, or None for identity."""
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise FetchError(f"unsupported Content-Encoding: {encoding}")


async def _read_capped(response: httpx.Response, limit: int) -> bytes:
    """Read and inflate the body, never holding more than limit bytes of it."""
    # httpx inflates each raw chunk whole: a small gzip chunk of zeros could become hundreds of
    # megabytes before any size check, so bodies are inflated here with a bound per step.
    inflater = _inflater(response.headers.get("content-encoding", "").strip().lower())
    chunks: list[bytes] = []
    size = 0

    def keep(data: bytes) -> None:
        nonlocal size
        size += len(data)
        if size > limit:
            raise FetchError(f"response larger than {limit} bytes: cut", response.status_code)
        chunks.append(data)

    try:
        async for raw in response.aiter_raw():
            if inflater is None:
                keep(raw)
                continue
            pending = raw
            while pending:
                keep(inflater.decompress(pending, limit - size + 1))
                pending = inflater.unconsumed_tail
        if inflater is not None:
            keep(inflater.flush())
    except zlib.error as exc:
        raise FetchError(f"corrupt compressed body: {exc}", response.status_code) from None
    return b"".join(chunks)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Fetcher:
    """Fetch URLs through one shared client; use `async with` or call aclose()."""

    def __init__(
        self,
        limits: FetchLimits | None = None,
        policy: AddressPolicy | None = None,
        user_agent: str | None = None,
    ) -> None:
        self.limits = limits or FetchLimits()
        self.policy = policy or AddressPolicy.from_env()
        self.user_agent = user_agent or default_user_agent()
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(
                max_connections=max(self.limits.total, 1) * 2,
                max_keepalive_connections=max(self.limits.total, 1) * 2,
            ),
            trust_env=False,
        )
        if not self.policy.allow_private:
            pool = transport._pool
            pool._network_backend = _GuardedBackend(pool._network_backend, self.policy)
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(self.limits.timeout_s),
            headers={
                "User-Agent": self.user_agent,
                "Accept": _ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
            trust_env=False,
        )
        self._total = asyncio.Semaphore(max(self.limits.total, 1))
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared client and its connections."""
        await self._client.aclose()

    async def get(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """Fetch url, following redirects; UnsafeURL if url itself is refused, else FetchError."""
        url = check_scheme(url)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for hop in range(self.limits.max_redirects + 1):
            result = await self._hop(url, headers, first=hop == 0)
            if isinstance(result, Fetched):
                return result
            url = result
        raise FetchError(f"too many redirects ({self.limits.max_redirects})")

    async def _hop(self, url: str, headers: dict[str, str], *, first: bool) -> Fetched | str:
        parts = urlsplit(url)
        key = f"{(parts.hostname or '').lower()}:{parts.port or ''}"
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = asyncio.Semaphore(max(self.limits.per_host, 1))
        timeout = self.limits.timeout_s
        async with host, self._total:
            try:
                async with asyncio.timeout(timeout):
                    try:
                        await check_public(url, self.policy)
                    except Unresolvable as exc:
                        raise FetchError(str(exc)) from None
                    except UnsafeURL as exc:
                        if first:
                            raise
                        raise FetchError(f"redirect to {url} refused: {exc}") from None
                    try:
                        return await self._request(url, headers)
                    except Unresolvable as exc:
                        raise FetchError(str(exc)) from None
                    except UnsafeURL as exc:
                        raise FetchError(f"refused when connecting: {exc}") from None
            except (TimeoutError, httpx.TimeoutException):
                raise FetchError(f"timed out after {timeout:g} s") from None
            except httpx.ConnectError as exc:
                raise FetchError(f"cannot connect to {parts.netloc}: {_one_line(exc)}") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {_one_line(exc)}") from None

    async def _request(self, url: str, headers: dict[str, str]) -> Fetched | str:
        limit = self.limits.max_bytes
        async with self._client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in _REDIRECTS:
                location = response.headers.get("location", "").strip()
                if not location:
                    raise FetchError(f"HTTP {status} without a Location header", status)
                return urljoin(str(response.url), location)
            etag = response.headers.get("etag")
            modified = response.headers.get("last-modified")
            if status == 304:
                return Fetched(url, 304, b"", None, None, etag, modified)
            if status >= 300 or status < 200:
                retry = parse_retry_after(response.headers.get("retry-after"))
                raise FetchError(f"HTTP {status}", status, retry)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FetchError(f"response larger than {limit} bytes: refused", status)
            body = await _read_capped(response, limit)
            content_type = response.headers.get("content-type")
            mime = content_type.split(";", 1)[0].strip().lower() if content_type else None
            return Fetched(
                url, status, body, mime or None, response.charset_encoding,
                etag, modified,
            )
