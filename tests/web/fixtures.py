"""Feeds and article pages built from the seed texts in the repository's seeds/ folder.

    arts = seed_articles()                      # five Articles: slug, title, paragraphs, published
    rss_feed(arts, base) / atom_feed(arts, base)  # bytes; links are base + article_path(a)
    article_page(a)                             # a full page with FURNITURE around the article
    article_page(a.encodable("cp1256"), encoding="cp1256", declare="meta")  # legacy encodings
    malformed_feed(arts, base)                  # an RSS feed with a minor XML error
    NOT_A_FEED, GARBAGE                         # an HTML page and random bytes

FURNITURE lists strings of the page furniture (menus, related list, comments, footer, cookie
banner, ads, script and style) that must never reach extracted text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
_MIN_WORDS = 12

MENU = ("الصفحة الرئيسية للموقع", "منوعات وترفيه", "أخبار الطقس اليومية")
RELATED = (
    "ارتفاع أسعار الذهب في الأسواق المحلية",
    "افتتاح معرض الكتاب الدولي بمشاركة واسعة",
    "منتخب الشباب يتأهل إلى نهائي البطولة",
)
COMMENTS = ("تعليق من زائر: مقال رائع ومفيد جداً شكراً للكاتب", "أضف تعليقك هنا")
FOOTER = "جميع الحقوق محفوظة لموقع فرات الإخباري"
COOKIES = "يستخدم هذا الموقع ملفات تعريف الارتباط لتحسين تجربتك"
AD = "احصل على خصم خمسين بالمئة الآن"
SCRIPT = "furnitureScriptMarker"
STYLE = "furnitureStyleMarker"
FURNITURE = (*MENU, "اقرأ أيضاً", *RELATED, *COMMENTS, FOOTER, COOKIES, AD, SCRIPT, STYLE)


@dataclass(frozen=True)
class Article:
    """A seed article: slug for its URL, headline, prose paragraphs and a publication time."""

    slug: str
    title: str
    paragraphs: tuple[str, ...]
    published: datetime

    def encodable(self, encoding: str) -> Article:
        """Keep only the paragraphs a legacy encoding can carry."""

        def fits(text: str) -> bool:
            try:
                text.encode(encoding)
            except UnicodeEncodeError:
                return False
            return True

        kept = tuple(p for p in self.paragraphs if fits(p))
        title = self.title if fits(self.title) else " ".join(kept[0].split()[:6])
        return replace(self, title=title, paragraphs=kept)


def seed_articles() -> list[Article]:
    """Read the seeds: first block the headline, blocks of at least 12 words the paragraphs."""
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    articles = []
    for i, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        blocks = [" ".join(b.split()) for b in path.read_text("utf-8").split("\n\n")]
        blocks = [b for b in blocks if b]
        title = blocks[0] if len(blocks[0].split()) >= 3 else blocks[1]
        paragraphs = tuple(
            b for b in blocks if b != title and len(b.split()) >= _MIN_WORDS and "#" not in b
        )
        slug = f"article-{i}"
        articles.append(Article(slug, title, paragraphs, start - timedelta(hours=i)))
    return articles


def article_path(article: Article) -> str:
    """Return the path the article's page is served at."""
    return f"/news/{article.slug}.html"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def article_page(article: Article, *, encoding: str = "utf-8", declare: str = "meta") -> bytes:
    """Return a furnished page; declare is "meta", "http-equiv" or "none" (no declaration)."""
    label = {"cp1256": "windows-1256", "iso8859_6": "ISO-8859-6"}.get(encoding, encoding)
    head = {
        "meta": f'<meta charset="{label}">',
        "http-equiv": f'<meta http-equiv="Content-Type" content="text/html; charset={label}">',
        "none": "",
    }[declare]
    menu = "".join(f'<li><a href="/section/{i}">{_e(m)}</a></li>' for i, m in enumerate(MENU))
    related = "".join(
        f'<li><a href="/news/r{i}.html">{_e(r)}</a></li>' for i, r in enumerate(RELATED)
    )
    body = "\n".join(f"<p>{_e(p)}</p>" for p in article.paragraphs)
    when = article.published.isoformat()
    page = f"""<!DOCTYPE html>
<html lang="ar" dir="rtl"><head>{head}
<title>{_e(article.title)} | فرات</title>
<meta property="og:title" content="{_e(article.title)}">
<meta property="article:published_time" content="{when}">
<style>.{STYLE} {{ display: none }}</style>
<script>var {SCRIPT} = "tracking";</script>
</head><body>
<div class="cookie-banner" id="cookie-consent"><p>{_e(COOKIES)}</p><button>موافق</button></div>
<header class="site-header"><nav class="main-menu"><ul>{menu}</ul></nav></header>
<div class="ad ad-banner advertisement"><p>إعلان: {_e(AD)}</p></div>
<main><article class="post">
<h1 class="entry-title">{_e(article.title)}</h1>
<time datetime="{when}" class="published">{article.published:%Y-%m-%d}</time>
<div class="entry-content">
{body}
</div>
</article>
<aside class="related-posts"><h3>اقرأ أيضاً</h3><ul>{related}</ul></aside>
<section id="comments" class="comments-area"><h3>التعليقات</h3>
<ol class="comment-list"><li class="comment"><div class="comment-body"><p>{_e(COMMENTS[0])}</p>
</div></li></ol>
<div id="respond" class="comment-respond"><h3>{_e(COMMENTS[1])}</h3>
<form><textarea name="comment"></textarea></form></div></section>
</main>
<footer class="site-footer"><p>{_e(FOOTER)} 2026</p></footer>
<script>window.{SCRIPT}Loaded = true;</script>
</body></html>
"""
    return page.encode(encoding)


def _item(article: Article, base: str) -> str:
    return f"""<item>
<title>{_e(article.title)}</title>
<link>{base}{article_path(article)}?utm_source=rss&amp;utm_medium=feed</link>
<guid isPermaLink="false">furat-test-{article.slug}</guid>
<pubDate>{format_datetime(article.published)}</pubDate>
<description>{_e("<p>" + article.paragraphs[0] + "</p>")}</description>
</item>"""


def rss_feed(articles: list[Article], base: str, *, title: str = "أخبار فرات") -> bytes:
    """Return an RSS 2.0 feed of the articles, summaries being their first paragraphs."""
    items = "\n".join(_item(a, base) for a in articles)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{_e(title)}</title><link>{base}/</link>
<description>test feed</description>
{items}
</channel></rss>
""".encode()


def atom_feed(articles: list[Article], base: str, *, title: str = "أخبار فرات") -> bytes:
    """Return an Atom feed with relative links, full content and a summary per entry."""
    entries = "\n".join(
        f"""<entry><title>{_e(a.title)}</title>
<link rel="alternate" href="{article_path(a)}"/>
<id>urn:furat:{a.slug}</id>
<updated>{a.published.isoformat()}</updated><published>{a.published.isoformat()}</published>
<summary>{_e(a.paragraphs[0])}</summary>
<content type="html">{_e("".join(f"<p>{p}</p>" for p in a.paragraphs))}</content>
</entry>"""
        for a in articles
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{base}/"><title>{_e(title)}</title>
<id>urn:furat:test</id><updated>2026-11-30T12:00:00Z</updated>
{entries}
</feed>
""".encode()


def malformed_feed(articles: list[Article], base: str) -> bytes:
    """Return an RSS feed with an unescaped & and an undefined entity: entries still recoverable."""
    feed = rss_feed(articles, base).decode()
    return feed.replace("<description>test feed", "<description>News & views &nbsp;", 1).encode()


NOT_A_FEED = (
    b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
)
GARBAGE = bytes(range(256)) * 4
