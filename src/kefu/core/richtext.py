"""Rich text as people write it in the browser's editor, made safe to show to others (nh3), and its
plain text for search, diffs, excerpts and SMS.

Only formatting survives a `Policy`: scripts, event handlers, `javascript:` links, frames and forms
never do, and links open safely (`rel="noopener noreferrer"`). Each area picks its policy:
knowledge articles keep images and drop inline styles (`ARTICLE`); announcements keep a few colour
and alignment styles and drop images (`ANNOUNCEMENT`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

import nh3
from markupsafe import escape

URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_FORMATTING = frozenset(
    {
        *("p", "br", "hr", "div", "span", "h2", "h3", "h4", "blockquote", "pre", "code"),
        *("strong", "b", "em", "i", "u", "s", "sub", "sup"),
        *("ul", "ol", "li"),
        *("table", "thead", "tbody", "tr", "th", "td"),
        "a",
    }
)
_CELLS = {"td": frozenset({"colspan", "rowspan"}), "th": frozenset({"colspan", "rowspan"})}


@dataclass(frozen=True)
class Policy:
    """What HTML survives: tags, attributes per tag, and inline style properties (none by default)."""

    tags: frozenset[str]
    attributes: Mapping[str, frozenset[str]]
    styles: frozenset[str] = field(default_factory=frozenset)

    def sanitize(self, html: str) -> str:
        options: dict[str, object] = {}
        if self.styles:
            options["filter_style_properties"] = set(self.styles)
        return nh3.clean(
            html or "",
            tags=set(self.tags),
            attributes={tag: set(names) for tag, names in self.attributes.items()},
            url_schemes=set(URL_SCHEMES),
            link_rel="noopener noreferrer",
            strip_comments=True,
            **options,  # type: ignore[arg-type]
        ).strip()


ARTICLE = Policy(
    tags=_FORMATTING | {"mark", "dl", "dt", "dd", "tfoot", "caption", "img"},
    attributes={
        "a": frozenset({"href", "title"}),
        "img": frozenset({"src", "alt", "title", "width", "height"}),
        "ol": frozenset({"start"}),
        **_CELLS,
    },
)
ANNOUNCEMENT = Policy(
    tags=_FORMATTING | {"h5"},
    attributes={
        "a": frozenset({"href", "title"}),
        "span": frozenset({"style"}),
        "p": frozenset({"style"}),
        "div": frozenset({"style"}),
        **_CELLS,
    },
    styles=frozenset({"color", "background-color", "text-align", "font-weight"}),
)

BLOCKS = frozenset(
    {
        *("p", "div", "br", "hr", "h2", "h3", "h4", "h5", "blockquote", "pre"),
        *("ul", "ol", "li", "dl", "dt", "dd", "table", "tr", "caption"),
    }
)


def sanitize(html: str, policy: Policy = ARTICLE) -> str:
    """Safe HTML to store and show."""
    return policy.sanitize(html)


class _Text(HTMLParser):
    def __init__(self, *, bullets: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.bullets = bullets

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")
        if tag == "li" and self.bullets:
            self.parts.append("• ")
        if tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str, *, one_line: bool = False, limit: int | None = None) -> str:
    """The text of HTML: one line per block with list bullets, or (`one_line`) everything on one line,
    blocks apart by a space; blank runs collapsed; cut to `limit` characters with "…"."""
    parser = _Text(bullets=not one_line)
    parser.feed(html or "")
    parser.close()
    text = unescape("".join(parser.parts)).replace("\xa0", " ")
    lines = [line for line in (re.sub(r"\s+", " ", line).strip() for line in text.splitlines()) if line]
    joined = (" " if one_line else "\n").join(lines)
    if limit is not None and len(joined) > limit:
        return joined[: max(limit - 1, 0)].rstrip() + "…"
    return joined


def from_plain(text: str) -> str:
    """HTML paragraphs for plain text (an answer turned into an article body), escaped."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    return "".join("<p>" + str(escape(p)).replace("\n", "<br>") + "</p>" for p in paragraphs)
