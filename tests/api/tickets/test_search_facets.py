"""The facets of the tickets' full-text rows (`kefu.tickets.facets`), which let PostgreSQL answer a
keyword with conditions in one index scan: the tsquery they make, that they follow a ticket through
its life (on both databases the answers must be those of the ticket table), that a change in the
same transaction is seen, and that a re-index writes them again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from kefu.core import search
from kefu.core.permissions import build_actor
from kefu.tickets import facets, finder
from kefu.tickets.models import CallbackStatus, CallbackTask, Ticket

SEARCH = "/api/v1/tickets/search"


def _postgres(session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lexemes(session, ticket_id: int) -> set[str]:
    row = session.execute(
        text("SELECT tsvector_to_array(facets) FROM search_fts WHERE kind = 'tickets' AND ref_id = :id"),
        {"id": ticket_id},
    ).scalar_one()
    return set(row)


def text_of(values: dict[str, Any], **kw: Any) -> str | None:
    found = facets.query(values, **kw)
    return None if found is None else found.text


def test_the_query_names_every_facet_condition():
    values: dict[str, Any] = {
        "status": ["open", "suspended"],
        "department_id": 3,
        "handler_id": 7,
        "accept_department_id": 2,
        "accept_user_id": 9,
        "nature": "fault",
        "priority": "urgent",
        "channel": "phone",
        "area": "east",
        "past_handler_id": 4,
        "past_department_id": 5,
        "type_id": 1,
        "category_id": 11,
        "callback": "done",
        "created_from": datetime(2026, 10, 20, tzinfo=UTC),
        "created_to": datetime(2026, 12, 2, tzinfo=UTC),
        "customer_pinyin": "zs",
        "customer_name": "张",
        "terminal_no": "STB0001",  # not a facet: the ticket table's own index finds it
    }
    found = facets.query(values, categories=[11, 12])
    assert found is not None
    # The time window only narrows (by month); the rest is answered exactly.
    assert found.covered == set(values) - {"created_from", "created_to", "terminal_no"}
    assert found.text == (
        "'nn1:张' & 'nk2:zs' & ('s:open' | 's:suspended') & ('c:11' | 'c:12') & 't:1' & 'd:3' & "
        "'h:7' & 'ad:2' & 'au:9' & 'n:fault' & 'p:urgent' & 'ch:phone' & 'a:east' & 'ph:4' & 'pd:5' & "
        "'cb:done' & "
        "('m:202610' | 'm:202611' | 'm:202612')"
    )
    assert text_of({"callback": "no", "priority": "normal"}) == "'p:normal' & !'cb:yes'"
    assert facets.query({"callback": "no"}) is None  # a lone negation would read the whole index
    assert facets.query({"external_code": "INM-1"}) is None
    assert text_of({"customer_name": "Ｚhang San"}) == "'nn:zhangsan':*"  # folded as the keys are
    assert text_of({"customer_pinyin": "zhan"}) == "'nk4:zhan'"
    assert text_of({"nature": "o'brien"}) == "'n:o''brien'"
    # Open-ended and very wide windows are left to the ticket table; a year boundary is crossed.
    assert facets.months(datetime(2026, 1, 1, tzinfo=UTC), None) is None
    assert facets.months(datetime(2020, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)) is None
    assert facets.months(datetime(2025, 12, 31, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)) == [
        "m:202512",
        "m:202601",
    ]
    many = list(range(facets.MAX_CHOICES + 1))
    assert text_of({"priority": "urgent"}, categories=many) == "'p:urgent'"


def _find(desk, who, **params: Any) -> list[int]:
    r = desk.client.get(SEARCH, params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return sorted(i["id"] for i in r.json()["items"])


def test_facets_follow_a_ticket_through_its_life(desk, session):
    d = desk
    admin = d.factory.token_login(d.factory.user(admin=True))
    t = d.register(
        subject="光猫无法注册", description="客户家中光猫指示灯闪烁", nature="fault", priority="urgent"
    )
    other = d.register(subject="光猫更换申请", nature="inquiry")
    tid = t["id"]

    def found(**params: Any) -> bool:
        return tid in _find(d, admin, keyword="光猫", **params)

    assert t["department_id"] == d.back.id
    assert found(department_id=d.back.id, status="open", nature="fault", priority="urgent")
    assert found(accept_department_id=d.front.id, accept_user_id=d.agent.user.id, type_id=d.ticket_type.id)
    assert not found(department_id=d.other.id) and not found(past_department_id=d.other.id)
    assert found(callback="no", priority="urgent") and not found(callback="yes")
    assert found(customer_name="张", customer_pinyin="zhangs") and not found(customer_pinyin="li")
    handler = d.h1 if t["handler_id"] == d.h1.user.id else d.h2
    t = d.act(t, "transfer", handler, {"department_id": d.other.id, "comment": "需上门"})
    assert found(department_id=d.other.id, handler_id=d.o1.user.id)
    assert not found(department_id=d.back.id)
    assert found(past_department_id=d.back.id, past_handler_id=handler.user.id, status="open")
    t = d.act(t, "reply", d.o1, {"comment": "已更换光猫"})
    assert found(past_handler_id=d.o1.user.id, past_department_id=d.other.id)
    d.act(t, "cancel", d.leader, {"comment": "客户撤销"})
    assert found(status="cancelled") and not found(status="open")
    # Callback work added later.
    session.add(CallbackTask(ticket_id=tid, status=CallbackStatus.PENDING, assignee_id=d.agent.user.id))
    session.commit()
    assert found(callback="yes", nature="fault") and not found(callback="done") and not found(callback="no")
    cb = session.scalars(select(CallbackTask).where(CallbackTask.ticket_id == tid)).one()
    cb.status = CallbackStatus.DONE
    session.commit()
    assert found(callback="done", status="cancelled")
    # The other ticket never moved.
    assert _find(d, admin, keyword="光猫", department_id=d.back.id) == [other["id"]]
    if _postgres(session):
        have = _lexemes(session, tid)
        assert {"s:cancelled", f"d:{d.other.id}", f"pd:{d.back.id}", "cb:yes", "cb:done", "n:fault"} <= have
        assert not {"s:open", f"d:{d.back.id}"} & have


def test_a_change_earlier_in_the_transaction_is_searched(desk, session):
    d = desk
    t = d.register(subject="机顶盒无信号", nature="fault")
    admin = d.factory.user(admin=True)
    actor = build_actor(session, admin)
    ticket = session.get(Ticket, t["id"])
    ticket.department_id = d.other.id
    ticket.priority = "critical"
    session.flush()  # not committed: the search runs in the same transaction

    def ids(**params: Any) -> list[int]:
        return [x.id for x in finder.run(session, actor, finder.parse({"keyword": "机顶盒", **params})).rows]

    assert ids(department_id=d.other.id, priority="critical") == [t["id"]]
    assert ids(department_id=d.back.id) == []
    session.rollback()


def test_a_reindex_writes_the_facets_again(desk, session):
    d = desk
    t = d.register(subject="宽带网速慢", nature="fault")
    if not _postgres(session):
        pytest.skip("facets: PostgreSQL only (SQLite answers the conditions from the ticket table)")
    session.execute(text("UPDATE search_fts SET facets = ''::tsvector WHERE kind = 'tickets'"))
    assert _lexemes(session, t["id"]) == set()
    search.reindex(session, finder.KIND)
    assert {"s:open", "n:fault", f"d:{d.back.id}"} <= _lexemes(session, t["id"])
    assert facets.rebuild(session) >= t["id"]
