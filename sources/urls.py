"""URL rules: canonical form, allowed schemes, and refusing addresses in private networks."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gclsrc",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "ref_src",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt_mc",
        "twclid",
        "si",
    }
)
ALLOW_PRIVATE_ENV = "FURAT_ALLOW_PRIVATE_URLS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """A URL Furat refuses to fetch; str() is one line for the operator."""


class Unresolvable(UnsafeURL):
    """A host name that does not resolve (now): refused, though perhaps only for a while."""


def _tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in _TRACKING


def canonical_url(url: str) -> str:
    """Drop url's fragment, default port and tracking parameters; lowercase scheme and host."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    netloc = host
    if parts.username is not None:
        auth = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{auth}@{host}"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    # Raw segments are filtered rather than re-encoded so kept parameters stay byte for byte.
    segments = [s for s in parts.query.split("&") if s]
    query = "&".join(s for s in segments if not _tracking(unquote_plus(s.split("=", 1)[0])))
    path = parts.path or ("/" if netloc else "")
    return urlunsplit((scheme, netloc, path, query, ""))


def check_scheme(url: str) -> str:
    """Return url stripped, or raise UnsafeURL unless it is an http(s) URL with a host."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise UnsafeURL(f"only http and https URLs can be fetched, not {url!r}")
    if not parts.hostname:
        raise UnsafeURL(f"the URL has no host: {url!r}")
    try:
        parts.port  # noqa: B018 - a bad port raises here rather than at connect time
    except ValueError:
        raise UnsafeURL(f"the URL has an invalid port: {url!r}") from None
    return url


def _kind(ip: IPAddress) -> str | None:
    """Name the non-public range ip falls in, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _kind(ip.ipv4_mapped)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which IP addresses may be fetched; public_override lists IPs treated as public (tests)."""

    allow_private: bool = False
    public_override: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AddressPolicy:
        """Allow private addresses only when FURAT_ALLOW_PRIVATE_URLS=1."""
        env = os.environ if env is None else env
        return cls(allow_private=env.get(ALLOW_PRIVATE_ENV, "").strip() == "1")

    def refusal(self, ip: str) -> str | None:
        """Return why ip is refused (e.g. "loopback"), or None when it may be fetched."""
        if self.allow_private or ip in self.public_override:
            return None
        try:
            address = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return "invalid"
        return _kind(address)

    def __call__(self, ip: str) -> bool:
        """Tell whether ip may be fetched."""
        return self.refusal(ip) is None


def _refused(host: str, ip: str, kind: str) -> UnsafeURL:
    hint = f" (set {ALLOW_PRIVATE_ENV}=1 to allow)"
    if host == ip:
        return UnsafeURL(f"{ip} is a {kind} address{hint}")
    return UnsafeURL(f"{host} resolves to a {kind} address ({ip}){hint}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"cannot resolve {host}: {exc}") from None
    ips = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not ips:
        raise Unresolvable(f"cannot resolve {host}: no address")
    return ips


async def resolve_checked(host: str, port: int, policy: AddressPolicy) -> list[str]:
    """Resolve host and return its addresses; raise UnsafeURL if any of them is refused."""
    host = host.strip("[]")
    ips = [host] if _is_ip(host) else await _resolve(host, port)
    for ip in ips:
        kind = policy.refusal(ip)
        if kind is not None:
            raise _refused(host, ip, kind)
    return ips


async def check_public(url: str, policy: AddressPolicy) -> None:
    """Raise UnsafeURL unless url is http(s) and every address its host resolves to is allowed."""
    url = check_scheme(url)
    if policy.allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    await resolve_checked(host, parts.port or _DEFAULT_PORTS[parts.scheme.lower()], policy)


async def checked_feed_url(raw: str, policy: AddressPolicy) -> str:
    """Return the canonical form of a URL to fetch; raise UnsafeURL saying why it is refused."""
    url = canonical_url(check_scheme(raw))
    await check_public(url, policy)
    return url
