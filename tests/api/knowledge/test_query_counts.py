"""The search and management lists read a fixed number of statements, whatever the page size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_list_query_counts_do_not_grow_with_the_rows(kb, engine):
    kb.published(seed_title="第一篇")
    kb.search(q="黑屏")  # warm the per-process caches (search dictionary, parameters)
    kb.call("GET", "/articles", kb.reviewer)
    with statements(engine) as one_search:
        assert kb.search(q="黑屏")["total"] == 1
    with statements(engine) as one_managed:
        assert kb.call("GET", "/articles", kb.reviewer)["total"] == 1
    for n in range(4):
        kb.published(seed_title=f"机顶盒黑屏第{n}篇")
    with statements(engine) as five_search:
        assert kb.search(q="黑屏")["total"] == 5
    with statements(engine) as five_managed:
        assert kb.call("GET", "/articles", kb.reviewer)["total"] == 5
    assert len(five_search) == len(one_search)
    assert len(five_managed) == len(one_managed)
