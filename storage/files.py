"""Find article files and decode them, refusing what is not an article.

Everything here blocks (stat, walk, read): the ingest calls it in a worker thread.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 5 * 1024 * 1024
READ_CHUNK = 32  # files read per thread hop
READ_CHUNK_BYTES = 16 * 1024 * 1024  # and at most this much read per hop
SUFFIX = ".txt"  # of article files found in folders, in any case
CONTROL_SHARE = 10  # a text with over one control character in this many is binary
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f]")  # below space, except \t \n \f \r
_ARABIC_RE = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_KINDS = {stat.S_IFIFO: "FIFO", stat.S_IFSOCK: "socket"} | dict.fromkeys(
    (stat.S_IFCHR, stat.S_IFBLK), "device"
)
UTF8 = "UTF-8"


class BadFile(ValueError):
    """A file that cannot be ingested; the message says why, for the operator."""


@dataclass(frozen=True)
class ArticleFile:
    """A file to ingest: its key, the folder it was found under, and its size and mtime."""

    path: Path
    key: str
    root: str | None  # the resolved folder named for ingest; None for a file named directly
    size: int = -1
    mtime_ns: int = -1
    refused: str | None = None  # why it is reported without being read


@dataclass(frozen=True)
class Found:
    """What walking the named paths found."""

    files: list[ArticleFile]
    roots: frozenset[str]  # folders walked whole: their documents without a file are gone


def _strip_suffix(name: str) -> str:
    return name[: -len(SUFFIX)] if name.lower().endswith(SUFFIX) else name


def article_key(path: Path, root: Path | None) -> str:
    """Return a document's key: its path under root without .txt, or a lone file's stem."""
    if root is None:
        return path.stem
    return _strip_suffix(path.relative_to(root).as_posix())


def _not_regular(mode: int) -> str:
    return f"not a regular file ({_KINDS.get(stat.S_IFMT(mode), 'special file')})"


def _walk(root: Path) -> tuple[list[ArticleFile], bool]:
    """Return the article files under a folder, and whether every subfolder could be read."""
    errors: list[OSError] = []
    resolved = str(root.resolve())
    found: list[ArticleFile] = []
    for folder, dirs, names in os.walk(root, onerror=errors.append):
        dirs.sort()
        for name in names:
            if not name.lower().endswith(SUFFIX):
                continue
            path = Path(folder, name)
            key = article_key(path, root)
            try:
                st = os.stat(path)
            except OSError as exc:
                found.append(ArticleFile(path, key, resolved, refused=exc.strerror or str(exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                continue  # a folder named x.txt is walked by os.walk itself
            refused = None if stat.S_ISREG(st.st_mode) else _not_regular(st.st_mode)
            found.append(ArticleFile(path, key, resolved, st.st_size, st.st_mtime_ns, refused))
    for error in errors:
        where = Path(error.filename) if error.filename else root
        reason = f"folder not read: {error.strerror or error}"
        found.append(ArticleFile(where, article_key(where, None), resolved, refused=reason))
    found.sort(key=lambda f: f.path.parts)
    return found, not errors


def find_articles(paths: Iterable[Path]) -> Found:
    """Find the files named directly and the .txt files (any case) in folders, sorted."""
    files: list[ArticleFile] = []
    roots: set[str] = set()
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            key = article_key(path, None)
            files.append(ArticleFile(path, key, None, refused=exc.strerror or str(exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            walked, whole = _walk(path)
            files += walked
            if whole:
                roots.add(str(path.resolve()))
        else:
            refused = None if stat.S_ISREG(st.st_mode) else _not_regular(st.st_mode)
            key = article_key(path, None)
            files.append(ArticleFile(path, key, None, st.st_size, st.st_mtime_ns, refused))
    return Found(files, frozenset(roots))


def read_article(path: Path) -> bytes:
    """Return a regular file's bytes; raise BadFile for anything else or over 5 MB."""
    # O_NONBLOCK: a FIFO swapped in after the walk must not block the open.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadFile(_not_regular(st.st_mode))
        if st.st_size > MAX_FILE_BYTES:
            raise BadFile(f"file is larger than 5 MB ({st.st_size:,} bytes)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_FILE_BYTES + 1)
    finally:
        os.close(fd)


def _mostly_arabic(text: str) -> bool:
    """Tell whether a legacy decoding reads as Arabic rather than mojibake or Latin text."""
    letters = [c for c in text if c.isalpha()]
    arabic = len(_ARABIC_RE.findall(text))
    arabic_letters = sum(1 for c in letters if _ARABIC_RE.match(c))
    # UTF-8 read as windows-1256 alternates Arabic letters with Latin-1 symbols.
    other = sum(1 for c in text if ord(c) > 127 and not c.isspace() and not _ARABIC_RE.match(c))
    return arabic_letters * 2 > len(letters) and arabic >= 4 * other


def _decode(raw: bytes) -> tuple[str, str]:
    """Return the text and the encoding it was read with; raise BadFile if none fits."""
    # Bytes FF and FE never occur in UTF-8, so a BOM cannot hide a UTF-8 file.
    for bom, codec, name in (
        (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16LE"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16BE"),
    ):
        if raw.startswith(bom):
            try:
                text = raw[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                raise BadFile(f"binary file (not {name} after its byte order mark)") from None
            if "\x00" in text:
                raise BadFile("binary file (holds NUL characters)")
            return text, name
    if b"\x00" in raw:
        raise BadFile("binary file (holds NUL bytes)")
    try:
        return raw.decode("utf-8-sig"), UTF8
    except UnicodeDecodeError as exc:
        invalid_at = exc.start
    # Only a text that reads as Arabic is taken for windows-1256: never mojibake.
    text = raw.decode("cp1256", errors="replace")
    if "\ufffd" not in text and _mostly_arabic(text):
        return text, "windows-1256"
    raise BadFile(f"not UTF-8 text (invalid byte at offset {invalid_at})")


def decode_article(raw: bytes) -> tuple[str, str]:
    """Return the text of a raw article file and its encoding, or raise BadFile with why."""
    if len(raw) > MAX_FILE_BYTES:
        raise BadFile(f"file is larger than 5 MB ({len(raw):,} bytes)")
    text, encoding = _decode(raw)
    if not text.strip():
        raise BadFile("empty file")
    # Real text holds a few stray controls (U+001A as bullets, say): cleaning reads them as
    # spaces. Only a text made largely of them is taken for binary.
    controls = len(_CONTROL_RE.findall(text))
    if controls > len(text) // CONTROL_SHARE:
        raise BadFile("binary file (too many control characters)")
    return text, encoding
