"""Rich text as people write it in the browser's editor, made safe to show to others (nh3).

Only formatting survives: paragraphs, emphasis, colour, lists, headings, quotes, tables and links to
web, mail and phone addresses. Scripts, styles, event handlers, images, frames and forms are removed,
so the stored HTML can be shown as it is. Nothing here is specific to announcements.
"""

from __future__ import annotations

import html
import re

import nh3

TAGS = frozenset(
    {
        *("p", "br", "div", "span", "hr"),
        *("strong", "b", "em", "i", "u", "s", "sub", "sup", "code", "pre", "blockquote"),
        *("h2", "h3", "h4", "h5", "ul", "ol", "li"),
        *("table", "thead", "tbody", "tr", "th", "td", "a"),
    }
)
ATTRIBUTES = {
    "a": {"href", "title"},
    "span": {"style"},
    "p": {"style"},
    "div": {"style"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
STYLE_PROPERTIES = frozenset({"color", "background-color", "text-align", "font-weight"})
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

_BLOCK = re.compile(r"</?(p|div|li|ul|ol|h[2-5]|tr|td|th|table|blockquote|pre)\b[^>]*>|<br\s*/?>", re.I)
_SPACE = re.compile(r"\s+")


def sanitize(value: str) -> str:
    """The HTML with everything but formatting removed."""
    return nh3.clean(
        value or "",
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        filter_style_properties=set(STYLE_PROPERTIES),
        link_rel="noopener noreferrer",
    ).strip()


def plain_text(value: str, *, limit: int | None = None) -> str:
    """The text of an HTML fragment on one line (blocks apart by a space), cut to `limit` with "…"."""
    spaced = _BLOCK.sub(lambda m: " " + m.group(0), value or "")
    text = _SPACE.sub(" ", html.unescape(nh3.clean(spaced, tags=set()))).strip()
    if limit is not None and len(text) > limit:
        return text[: max(limit - 1, 0)].rstrip() + "…"
    return text
