"""Rich text of articles: what the editor sends is sanitised with nh3 (an allow-list of tags and
attributes; scripts, event handlers, `javascript:` links and styles never survive), and its plain
text is derived for search, diffs and SMS."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import nh3

TAGS = frozenset(
    {
        *("p", "br", "hr", "div", "span", "h2", "h3", "h4", "blockquote", "pre", "code"),
        *("strong", "b", "em", "i", "u", "s", "sub", "sup", "mark"),
        *("ul", "ol", "li", "dl", "dt", "dd"),
        *("table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption"),
        *("a", "img"),
    }
)
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
BLOCKS = frozenset(
    {
        "p",
        "div",
        "br",
        "hr",
        "h2",
        "h3",
        "h4",
        "blockquote",
        "pre",
        "li",
        "tr",
        "dt",
        "dd",
        "table",
        "caption",
    }
)
MAX_HTML = 200_000


def sanitize(html: str) -> str:
    """Safe HTML to store and show (links open safely: rel="noopener noreferrer")."""
    cleaned = nh3.clean(
        html or "",
        tags=set(TAGS),
        attributes={k: set(v) for k, v in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return cleaned.strip()


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")
        if tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """The text of sanitised HTML, one line per block, blank runs collapsed."""
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    text = unescape("".join(parser.parts)).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def from_plain(text: str) -> str:
    """HTML paragraphs for plain text (an answer turned into an article body), escaped."""
    from markupsafe import escape

    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    return "".join("<p>" + str(escape(p)).replace("\n", "<br>") + "</p>" for p in paragraphs)
