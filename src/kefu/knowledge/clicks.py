"""Click counting (点击次数, KB-6) without a database write per view.

A view adds one to a counter outside the database; a job (`knowledge.flush_clicks`, every minute)
adds the collected counts to the articles in one unit of work. Embedded mode counts in this process's
memory (the job consumer runs in the same process); server mode counts in a Redis hash, so every app
process counts into one place and any worker flushes it. A crash loses at most the counts of the
last minute — an acceptable price for a counter that is read for popularity, not for money.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.orm import Session

from kefu.knowledge.models import Article

log = logging.getLogger(__name__)

REDIS_KEY = "kefu:knowledge:clicks"


class ClickBuffer(Protocol):
    def add(self, article_id: int, n: int = 1) -> None: ...

    def take(self) -> dict[int, int]:
        """Everything counted so far, removed from the buffer."""
        ...

    def give_back(self, counts: dict[int, int]) -> None:
        """Return counts that could not be written, so the next flush carries them."""
        ...


class LocalClicks:
    """Counts in this process's memory (embedded mode)."""

    def __init__(self) -> None:
        self._counts: Counter[int] = Counter()
        self._lock = threading.Lock()

    def add(self, article_id: int, n: int = 1) -> None:
        with self._lock:
            self._counts[article_id] += n

    def take(self) -> dict[int, int]:
        with self._lock:
            counts, self._counts = dict(self._counts), Counter()
        return counts

    def give_back(self, counts: dict[int, int]) -> None:
        with self._lock:
            self._counts.update(counts)


class RedisClicks:
    """Counts in a Redis hash shared by every process (server mode). `take` renames the hash away
    atomically, so views counted meanwhile go into a fresh hash and none is lost or counted twice."""

    def __init__(self, url: str, key: str = REDIS_KEY) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url)
        self.key = key

    def add(self, article_id: int, n: int = 1) -> None:
        try:
            self._redis.hincrby(self.key, str(article_id), n)
        except Exception:  # a lost click must never break reading an article
            log.warning("could not count a knowledge view in Redis", exc_info=True)

    def take(self) -> dict[int, int]:
        batch = f"{self.key}:flush:{uuid.uuid4().hex}"
        try:
            self._redis.rename(self.key, batch)
        except Exception as exc:  # nothing counted since the last flush: the hash does not exist
            if "no such key" in str(exc).lower():
                return {}
            raise
        raw = self._redis.hgetall(batch)
        self._redis.delete(batch)
        return {int(k): int(v) for k, v in raw.items()}

    def give_back(self, counts: dict[int, int]) -> None:
        pipe = self._redis.pipeline()
        for article_id, n in counts.items():
            pipe.hincrby(self.key, str(article_id), n)
        pipe.execute()


_buffer: ClickBuffer | None = None
_buffer_lock = threading.Lock()


def buffer() -> ClickBuffer:
    """The buffer of this process: Redis in server mode, memory otherwise."""
    global _buffer
    with _buffer_lock:
        if _buffer is None:
            from kefu.settings import get_settings

            url = get_settings().redis_url
            _buffer = RedisClicks(url) if url else LocalClicks()
        return _buffer


def use(new: ClickBuffer | None) -> None:
    """Replace the buffer (tests; None: choose again from the settings)."""
    global _buffer
    with _buffer_lock:
        _buffer = new


def count_view(article_id: int) -> None:
    """One view of an article (no database work)."""
    buffer().add(article_id)


def flush(session: Session, counts: dict[int, int]) -> int:
    """Add `counts` to the articles' click counts (one statement per article); how many clicks."""
    total = 0
    for article_id, n in sorted(counts.items()):
        if n <= 0:
            continue
        session.execute(
            update(Article)
            .where(Article.id == article_id)
            .values(click_count=Article.click_count + n)
            .execution_options(synchronize_session=False)
        )
        total += n
    return total
