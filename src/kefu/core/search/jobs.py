"""Background re-indexing: after a dictionary change (only the documents holding a changed word) and
on an administrator's request (everything). Each batch commits on its own, so a long run never holds
the database's write lock for minutes, and a retry simply does the work again (idempotent)."""

from __future__ import annotations

import logging

from kefu.core.jobs import task
from kefu.core.search import engine
from kefu.core.search import text as textmod
from kefu.db import db

log = logging.getLogger(__name__)


def retokenize_documents(words: list[str] | None = None) -> int:
    """Re-segment the stored documents holding any of `words` (all documents when None or empty)."""
    textmod.invalidate()  # the change that enqueued us has committed: use the new dictionary
    done, last_id = 0, 0
    while True:
        with db.unit_of_work() as session:
            count, last_id = engine.retokenize_batch(session, words=words or (), after_id=last_id)
        if not count:
            break
        done += count
    log.info("search: re-segmented %d documents after a dictionary change", done)
    return done


def reindex_everything(kind: str | None = None) -> int:
    """Rebuild the index from the domains' loaders (stored text for kinds without one)."""
    textmod.invalidate()
    with db.unit_of_work() as session:
        count = engine.reindex(session, kind)
    log.info("search: re-indexed %d documents", count)
    return count


retokenize_task = task(name="search.retokenize")(retokenize_documents)
reindex_task = task(name="search.reindex")(reindex_everything)
