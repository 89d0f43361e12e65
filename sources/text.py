"""Bytes to text as Arabic sites send them, and HTML fragments to plain paragraphs."""

from __future__ import annotations

import codecs
import re

import charset_normalizer
import lxml.html

_SNIFF_BYTES = 4096
_XML_DECL_RE = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']?([A-Za-z0-9._:-]+)""")
_META_RE = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# HTML maps these labels to windows-1252 (browsers do, so pages are written for it).
_WHATWG = {"latin1": "cp1252", "iso8859_1": "cp1252", "ascii": "cp1252", "us_ascii": "cp1252"}
_ARABIC_CODECS = ("cp1256", "iso8859_6")
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
        "ol", "p", "pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)


def codec_name(label: str | None) -> str | None:
    """Return Python's codec name for a charset label, or None when unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    return _WHATWG.get(name.replace("-", "_"), name)


def declared_charset(body: bytes) -> str | None:
    """Return the charset a document declares in its first 4 KB (XML prolog or meta)."""
    head = body[:_SNIFF_BYTES]
    match = _XML_DECL_RE.match(head) or _META_RE.search(head)
    return match.group(1).decode("ascii") if match else None


def _strict(body: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _arabic_share(text: str) -> float:
    """Share of Arabic letters among non-ASCII characters (1.0 when there are none)."""
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return 0.0
    return sum("\u0600" <= c <= "\u06ff" for c in wide) / len(wide)


def _arabic_guess(body: bytes) -> str | None:
    """Return the legacy Arabic codec under which the bytes read most like Arabic."""
    best: tuple[float, str] | None = None
    for codec in _ARABIC_CODECS:
        text = _strict(body, codec)
        if text is not None:
            share = _arabic_share(text)
            if share >= 0.8 and (best is None or share > best[0]):
                best = (share, codec)
    return best[1] if best else None


def choose_codec(body: bytes, charset: str | None = None) -> str:
    """Pick the codec: BOM, HTTP charset, declared charset, UTF-8, then detection."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec
    # A declared charset that cannot decode the bytes is a misconfigured server: fall through.
    for label in (charset, declared_charset(body), "utf-8"):
        named = codec_name(label)
        if named is not None and _strict(body, named) is not None:
            return named
    guess = _arabic_guess(body)
    if guess is not None:
        return guess
    best = charset_normalizer.from_bytes(body).best()
    if best is not None and codec_name(best.encoding):
        return best.encoding
    return codec_name(charset) or "utf-8"


def decode_html(body: bytes, charset: str | None = None) -> str:
    """Decode a page or feed: BOM, HTTP charset, declared charset, UTF-8, then detection."""
    return body.decode(choose_codec(body, charset), errors="replace")


def html_to_text(fragment: str) -> str:
    """Return the plain text of an HTML fragment, one paragraph per block, blank-line separated."""
    if "<" not in fragment and "&" not in fragment:
        return _paragraphs(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return _paragraphs(fragment)
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n\n" + (element.tail or "")
            if element.tag.lower() != "br":
                element.text = "\n\n" + (element.text or "")
    return _paragraphs(root.text_content())


def _paragraphs(text: str) -> str:
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    return "\n\n".join(p for p in (" ".join(b.split()) for b in blocks) if p)
