"""BM25 over weighted fields, computed in Python for a bounded set of candidates (SQLite backend).

Why not FTS5's own `bm25()`: on every query it counts, for each term, the documents holding it by
walking the term's whole document list — 20 ms and more at 100,000 articles for a common character
such as 不, before a single row is scored. Here the document frequencies are counted once per term
and kept per process for `STATS_TTL` seconds (they drift slowly; exact values do not change the
order of results in practice), and term frequencies come from the candidates' stored terms.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence

K1 = 1.2
B = 0.75
# Field weights: title, keywords, body.
WEIGHTS = (8.0, 4.0, 1.0)
STATS_TTL = 600.0
_STATS_MAX = 50_000


def idf(n_docs: int, df: int) -> float:
    """Lucene's BM25 idf: always positive, so a very common term still counts a little."""
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def _padded(text: str) -> str:
    # " term " counted in " a b c ": whole terms only. Two equal terms side by side share a space
    # and count once — rare in text, and cheaper than splitting every candidate into terms.
    return " " + text + " " if text else ""


def score(
    rows: Iterable[tuple[int, Sequence[str]]],
    terms: Sequence[str],
    idfs: dict[str, float],
    weights: Sequence[float] = WEIGHTS,
) -> dict[int, float]:
    """BM25F-style scores for `rows` of (doc id, fields as space-joined terms); field lengths are
    normalised by their average over the given rows."""
    prepared: list[tuple[int, list[str], list[int]]] = []
    for doc_id, fields in rows:
        prepared.append(
            (doc_id, [_padded(f) for f in fields], [f.count(" ") + 1 if f else 0 for f in fields])
        )
    if not prepared:
        return {}
    n_fields = len(weights)
    avg = [max(1.0, sum(p[2][i] for p in prepared) / len(prepared)) for i in range(n_fields)]
    needles = [(f" {t} ", idfs.get(t, 0.0)) for t in terms]
    out: dict[int, float] = {}
    for doc_id, padded, lengths in prepared:
        total = 0.0
        for needle, term_idf in needles:
            weighted_tf = 0.0
            for i in range(n_fields):
                tf = padded[i].count(needle) if padded[i] else 0
                if tf:
                    norm = 1.0 - B + B * lengths[i] / avg[i]
                    weighted_tf += weights[i] * tf / norm
            if weighted_tf:
                total += term_idf * weighted_tf * (K1 + 1.0) / (weighted_tf + K1)
        out[doc_id] = total
    return out


class TermStats:
    """Per-database cache of (document count, document frequency of each term)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._df: dict[tuple[str, str], tuple[float, int]] = {}
        self._n: dict[str, tuple[float, int]] = {}

    def clear(self) -> None:
        with self._lock:
            self._df.clear()
            self._n.clear()

    def n_docs(self, db: str, count: Callable[[], int]) -> int:
        now = time.monotonic()
        with self._lock:
            hit = self._n.get(db)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = count()
        with self._lock:
            self._n[db] = (now + STATS_TTL, value)
        return value

    def df(self, db: str, terms: Sequence[str], count: Callable[[str], int]) -> dict[str, int]:
        now = time.monotonic()
        out: dict[str, int] = {}
        missing: list[str] = []
        with self._lock:
            for t in terms:
                hit = self._df.get((db, t))
                if hit is not None and hit[0] > now:
                    out[t] = hit[1]
                else:
                    missing.append(t)
        for t in missing:
            out[t] = count(t)
        if missing:
            with self._lock:
                if len(self._df) > _STATS_MAX:
                    self._df.clear()
                for t in missing:
                    self._df[(db, t)] = (now + STATS_TTL, out[t])
        return out


stats = TermStats()
