"""Highlighting and snippets on the original text, in Python.

The index holds segmented, normalised terms, so the database's own snippet functions would show
those (FTS5's come out garbled). Here the original text is normalised character by character with a
map back to the original positions; each term is found in the normalised text and the matching
original characters are wrapped in <mark>. Everything else is HTML-escaped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from html import escape

SNIPPET_CHARS = 120
SNIPPET_LEAD = 20  # characters kept before the first match of the chosen window
_ASCII_ALNUM = re.compile(r"[a-z0-9]")


class _Table:
    """NFKC + lower case of every BMP character as a `str.translate` table (built once, lazily);
    characters that become more than one (㎏ → kg) or lie outside the BMP take the slow path."""

    one_to_one: dict[int, str] | None = None
    slow: re.Pattern[str] | None = None

    @classmethod
    def get(cls) -> tuple[dict[int, str], re.Pattern[str]]:
        if cls.one_to_one is None or cls.slow is None:
            table: dict[int, str] = {}
            multi: list[str] = []
            for cp in range(0x80, 0x10000):
                if 0xD800 <= cp <= 0xDFFF:
                    continue
                ch = chr(cp)
                norm = unicodedata.normalize("NFKC", ch).lower()
                if norm == ch:
                    continue
                if len(norm) == 1:
                    table[cp] = norm
                else:
                    multi.append(re.escape(ch))
            cls.slow = re.compile("[" + "".join(multi) + "\U00010000-\U0010ffff]")
            cls.one_to_one = table
        return cls.one_to_one, cls.slow


def _normalised_with_map(text: str) -> tuple[str, list[int] | None]:
    """The text NFKC-normalised and lower-cased, and for each of its characters the index of the
    original character it came from (None when they line up one to one, the usual case: full-width
    punctuation and letters map to one character each)."""
    if text.isascii():
        return text.lower(), None
    table, slow = _Table.get()
    if not slow.search(text):
        return text.lower().translate(table), None
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        norm = unicodedata.normalize("NFKC", ch).lower()
        out.append(norm)
        origin.extend([i] * len(norm))
    return "".join(out), origin


def _matches(text: str, terms: Sequence[str]) -> list[tuple[int, int, int]]:
    """(start, end, term number) in the original text for every occurrence of every term."""
    if not text or not terms:
        return []
    norm, origin = _normalised_with_map(text)
    found: list[tuple[int, int, int]] = []
    for n, term in enumerate(terms):
        if not term:
            continue
        ascii_word = term.isascii()
        start = norm.find(term)
        while start != -1:
            end = start + len(term)
            # A Latin/number term matches whole words only: "e30" does not light up inside "e302".
            if not ascii_word or (
                (start == 0 or not _ASCII_ALNUM.match(norm[start - 1]))
                and (end == len(norm) or not _ASCII_ALNUM.match(norm[end]))
            ):
                if origin is None:
                    found.append((start, end, n))
                else:
                    found.append((origin[start], origin[end - 1] + 1, n))
            start = norm.find(term, start + 1)
    found.sort()
    return found


def _merge(found: Sequence[tuple[int, int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e, _n in found:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _spans(text: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Merged (start, end) ranges of the original text where any term occurs."""
    return _merge(_matches(text, terms))


def _render(text: str, spans: Sequence[tuple[int, int]], lo: int = 0, hi: int | None = None) -> str:
    hi = len(text) if hi is None else hi
    out: list[str] = []
    pos = lo
    for s, e in spans:
        s, e = max(s, lo), min(e, hi)
        if s >= e:
            continue
        out.append(escape(text[pos:s]))
        out.append("<mark>" + escape(text[s:e]) + "</mark>")
        pos = e
    out.append(escape(text[pos:hi]))
    return "".join(out)


def highlight(text: str, terms: Sequence[str]) -> str:
    """The whole `text`, escaped, with every term occurrence in <mark>."""
    return _render(text, _spans(text, terms))


def snippet(text: str, terms: Sequence[str], *, size: int = SNIPPET_CHARS) -> str:
    """About `size` characters of `text` around its best cluster of matches, escaped and marked; the
    beginning of the text when nothing matches. "…" shows where the text was cut."""
    text = " ".join(text.split())
    found = _matches(text, terms)
    if len(text) <= size:
        return _render(text, _merge(found))
    start = 0
    if found:
        # The window (starting a little before a match) holding the most distinct terms, then the
        # most matches; the earliest such window wins.
        best: tuple[int, int, int] | None = None
        for s, _e, _n in found:
            lo = max(0, s - SNIPPET_LEAD)
            inside = [n for s2, e2, n in found if s2 >= lo and e2 <= lo + size]
            key = (len(set(inside)), len(inside), -lo)
            if best is None or key > best:
                best = key
        assert best is not None
        start = -best[2]
    start = min(start, max(0, len(text) - size))
    end = min(len(text), start + size)
    inner = [(s, e) for s, e in _merge(found) if e > start and s < end]
    html = _render(text, inner, start, end)
    return ("…" if start > 0 else "") + html + ("…" if end < len(text) else "")
