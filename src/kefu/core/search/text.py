"""Chinese text → search terms: normalisation and jieba segmentation with the domain dictionary.

- jieba is loaded once per process, lazily, on the first segmentation (≈ 1 s and ≈ 90 MB: never at
  import, never per request). Its base dictionary is kept pristine; a *segmenter* is a copy of it plus
  the enabled domain words, built whenever the dictionary version changes and swapped in atomically,
  so a request never sees a half-applied dictionary.
- Normalisation: NFKC (full-width letters, digits and punctuation become half-width), lower case,
  and every character that is not a letter or a digit separates terms (punctuation is dropped) — the
  same rule as SQLite's `unicode61` tokenizer, so the index never splits a term further.
- Documents are cut in jieba's search-engine mode (a long word also yields its dictionary sub-words:
  机顶盒 → 机顶, 顶盒, 机顶盒); queries in precise mode, so that each query term is something a
  document containing the query text was indexed with. Both without jieba's HMM guessing of unknown
  words, which depends on the surrounding characters and would make query and document disagree.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

TERM_MAX = 60  # longer runs (serial numbers, pasted hashes) are cut; the same on both sides
CHECK_INTERVAL = 5.0  # seconds between two looks at the dictionary version from one process
_SEPARATORS = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """NFKC and lower case: "ＩＰＴＶ黑屏" → "iptv黑屏"."""
    return unicodedata.normalize("NFKC", text).lower()


def _is_term_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or cat == "Co"


def _parts(token: str) -> Iterator[str]:
    """The terms in one jieba token: lower-cased runs of letters and digits."""
    token = token.lower()
    if all(_is_term_char(c) for c in token):
        if token:
            yield token[:TERM_MAX]
        return
    run: list[str] = []
    for ch in token:
        if _is_term_char(ch):
            run.append(ch)
        elif run:
            yield "".join(run)[:TERM_MAX]
            run = []
    if run:
        yield "".join(run)[:TERM_MAX]


@dataclass(frozen=True)
class DomainWord:
    word: str
    weight: int | None = None
    pos: str = ""


class Segmenter:
    """jieba's base dictionary plus a fixed set of domain words. Immutable once built."""

    def __init__(self, tokenizer: Any, version: str, words: tuple[DomainWord, ...]) -> None:
        self._tok = tokenizer
        self.version = version
        self.words = words

    def document_terms(self, text: str) -> list[str]:
        """Search-engine mode: every word and its dictionary sub-words, in order, repeats kept."""
        out: list[str] = []
        for token in self._tok.cut_for_search(unicodedata.normalize("NFKC", text), HMM=False):
            out.extend(_parts(token))
        return out

    def query_terms(self, text: str) -> list[str]:
        """Precise mode, each term once, in order."""
        seen: dict[str, None] = {}
        for token in self._tok.cut(unicodedata.normalize("NFKC", text), HMM=False):
            for part in _parts(token):
                seen.setdefault(part, None)
        return list(seen)


class _Base:
    """jieba's own dictionary, loaded once per process."""

    _lock = threading.Lock()
    _freq: dict[str, int] | None = None
    _total = 0

    @classmethod
    def get(cls) -> tuple[dict[str, int], int]:
        if cls._freq is None:
            with cls._lock:
                if cls._freq is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    started = time.perf_counter()
                    tok = jieba.Tokenizer()
                    tok.initialize()
                    cls._total = tok.total
                    cls._freq = tok.FREQ
                    log.info("jieba dictionary loaded in %.2f s", time.perf_counter() - started)
        assert cls._freq is not None
        return cls._freq, cls._total


def build_segmenter(words: Iterable[DomainWord], version: str = "") -> Segmenter:
    """A segmenter of jieba's base dictionary plus `words` (the base itself is never changed)."""
    import jieba

    freq, total = _Base.get()
    tok = jieba.Tokenizer()
    tok.FREQ = dict(freq)
    tok.total = total
    tok.initialized = True
    kept = tuple(words)
    for w in kept:
        tok.add_word(unicodedata.normalize("NFKC", w.word), w.weight, w.pos or None)
    # add_word raises the total; put it back so that every other word keeps its probability and a
    # change of the dictionary changes the segmentation only of texts that contain a changed word.
    tok.total = total
    return Segmenter(tok, version, kept)


class _Current:
    """The process's segmenter and when its version was last compared with the database."""

    lock = threading.Lock()
    segmenter: Segmenter | None = None
    checked_at = 0.0


def current(session: Any = None) -> Segmenter:
    """The segmenter for the dictionary as committed, rebuilt when its version changed.

    With a session the version is compared at most every `CHECK_INTERVAL` seconds (one indexed
    single-row read); without one, the configured database is asked when it is due, else the last
    segmenter is used as it is.
    """
    seg = _Current.segmenter
    due = seg is None or time.monotonic() - _Current.checked_at >= CHECK_INTERVAL
    if not due:
        assert seg is not None
        return seg
    from kefu.core.search import dictionary_store

    if session is not None:
        return _refresh(session, dictionary_store)
    from kefu.db import db

    if db._factory is None:  # no database (a unit test, a tool): the base dictionary only
        with _Current.lock:
            if _Current.segmenter is None:
                _Current.segmenter = build_segmenter(())
            return _Current.segmenter
    own = db.session()
    try:
        return _refresh(own, dictionary_store)
    finally:
        own.close()


def _refresh(session: Any, store: Any) -> Segmenter:
    version = store.version(session)
    with _Current.lock:
        seg = _Current.segmenter
        if seg is None or seg.version != version:
            words = store.enabled_words(session)
            seg = build_segmenter(words, version)
            _Current.segmenter = seg
            log.info("search dictionary %s applied (%d words)", version, len(words))
        _Current.checked_at = time.monotonic()
        return seg


def invalidate() -> None:
    """Compare the dictionary version at the next segmentation, and count term statistics afresh
    (after a change, or a test's rollback)."""
    from kefu.core.search import ranking

    _Current.checked_at = 0.0
    ranking.stats.clear()


def apply(segmenter: Segmenter) -> None:
    """Use `segmenter` from now on in this process (a committed change made here)."""
    with _Current.lock:
        _Current.segmenter = segmenter
        _Current.checked_at = time.monotonic()
