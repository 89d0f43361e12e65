"""OPML, the format feed readers exchange their lists of feeds in."""

from __future__ import annotations

from xml.etree import ElementTree as ET

MAX_OPML_BYTES = 10_000_000


class OpmlError(ValueError):
    """The file is not an OPML list of feeds."""


def read_opml(data: bytes) -> list[tuple[str, str | None]]:
    """Return the (url, name) of every feed outline, at any depth, in document order."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"larger than {MAX_OPML_BYTES} bytes")
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        # Entities are how XML bombs expand: an OPML file has no use for them.
        raise OpmlError("entity declarations are not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML ({exc})") from None
    if root.tag.lower() != "opml":
        raise OpmlError(f"the root element is <{root.tag}>, not <opml>")
    feeds: dict[str, str | None] = {}
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url and url not in feeds:
            name = (outline.get("title") or outline.get("text") or "").strip()
            feeds[url] = name if name and name != url else None  # text is required: often the URL
    return list(feeds.items())


def opml_document(feeds: list[tuple[str, str | None]], title: str = "Furat feeds") -> str:
    """Return an OPML 2.0 document listing the feeds."""
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = title
    body = ET.SubElement(root, "body")
    for url, name in feeds:
        attrs = {"type": "rss", "xmlUrl": url}
        if name:
            attrs |= {"text": name, "title": name}
        else:
            attrs["text"] = url
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
