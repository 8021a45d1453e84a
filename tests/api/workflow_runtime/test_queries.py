"""The task boxes cost a fixed number of SQL queries, however many tasks they list."""

from __future__ import annotations

from sqlalchemy import event


def _count_queries(world, fn) -> int:
    engine = world.session.get_bind().engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_todo_box_query_count_does_not_grow(world):
    handler = world.person(roles=[world.role("agent")])
    initiator = world.person()
    world.publish("limits")
    world.start(initiator, "limits", subject_id=1)
    world.box(handler, "todo")  # the first request of a token also records its use
    few = _count_queries(world, lambda: world.box(handler, "todo"))
    for n in range(2, 7):
        world.start(initiator, "limits", subject_id=n)
    assert len(world.box(handler, "todo")) == 6
    many = _count_queries(world, lambda: world.box(handler, "todo"))
    assert many == few
