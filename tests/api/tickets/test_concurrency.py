"""50 actions on one ticket at once, on PostgreSQL with one connection each (issue: "exactly one
wins per version; no lost update"): 50 replies based on the same version → one reply, 49 clear 409s;
50 urges (not version-bound) → all 50 counted."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from kefu.core.errors import Conflict
from kefu.db import make_engine
from kefu.migrate import upgrade
from kefu.org.config.dictionary import seed_defaults
from kefu.org.models import User
from kefu.tickets import numbering, presets, service, tracking
from kefu.tickets.models import Ticket, TicketLog, TicketUrge
from tests.api.tickets.conftest import AGENT, HANDLER
from tests.support import Factory

N = 50


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> Any:
    if request.config.getoption("--db") != "postgres":
        pytest.skip("separate connections with row locks: PostgreSQL only")
    url = request.getfixturevalue("fresh_pg_url")
    migrating = make_engine(url)
    upgrade(migrating)
    migrating.dispose()
    # One connection per concurrent action (the app's default pool holds 30).
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=N + 2)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()
    numbering.dispose()


def _setup(make: sessionmaker[Session]) -> tuple[int, int, int, list[int]]:
    with make() as s:
        seed_defaults(s)
        factory = Factory(s)
        admin = factory.actor(factory.user(admin=True))
        back = factory.department("Back")
        handler = factory.user(HANDLER, department=back)
        agents = [factory.user(AGENT) for _ in range(N)]
        ticket_type = presets.standard_type(s, actor=admin, department_id=back.id)
        ticket = service.register(
            s, actor=factory.actor(agents[0]), ticket_type=ticket_type, channel="phone", subject="并发"
        )
        s.commit()
        return ticket.id, ticket.lock_version, handler.id, [a.id for a in agents]


def _at_once(make: sessionmaker[Session], steps: list[Callable[[Session], None]]) -> list[str]:
    """Each step in its own thread and connection; all load first, then all write at once."""
    loaded = threading.Barrier(len(steps))
    results = [""] * len(steps)

    def worker(i: int) -> None:
        with make() as s:
            try:
                steps[i](s, loaded)  # type: ignore[call-arg]
                s.commit()
                results[i] = "ok"
            except Conflict:
                s.rollback()
                results[i] = "conflict"

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(steps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_fifty_replies_on_one_version_one_wins(pg):
    ticket_id, version, handler_id, _agents = _setup(pg)

    def reply(n: int) -> Callable[..., None]:
        def step(s: Session, loaded: threading.Barrier) -> None:
            actor = Factory(s).actor(s.get(User, handler_id))
            ticket = s.get(Ticket, ticket_id)
            loaded.wait(timeout=60)
            service.reply(s, actor=actor, ticket=ticket, expected_version=version, comment=f"reply {n}")

        return step

    results = _at_once(pg, [reply(n) for n in range(N)])
    assert results.count("ok") == 1 and results.count("conflict") == N - 1
    with pg() as s:
        replies = s.scalar(
            select(func.count()).where(TicketLog.ticket_id == ticket_id, TicketLog.action == "replied")
        )
        assert replies == 1
        assert s.get(Ticket, ticket_id).lock_version == version + 1


def test_fifty_urges_at_once_lose_none(pg):
    ticket_id, _version, _handler_id, agents = _setup(pg)

    def urge(agent_id: int) -> Callable[..., None]:
        def step(s: Session, loaded: threading.Barrier) -> None:
            actor = Factory(s).actor(s.get(User, agent_id))
            ticket = s.get(Ticket, ticket_id)
            loaded.wait(timeout=60)
            tracking.urge(s, actor=actor, ticket=ticket, comment="快点")

        return step

    results = _at_once(pg, [urge(a) for a in agents])
    # Urges are not version-bound, but each one's count update must not overwrite another's:
    # the losers of a race are told (409) and retry, and in the end every urge is counted.
    for agent_id, result in zip(agents, results, strict=True):
        if result == "conflict":
            with pg() as s:
                actor = Factory(s).actor(s.get(User, agent_id))
                tracking.urge(s, actor=actor, ticket=s.get(Ticket, ticket_id), comment="快点")
                s.commit()
    with pg() as s:
        ticket = s.get(Ticket, ticket_id)
        urges = s.scalar(select(func.count()).where(TicketUrge.ticket_id == ticket_id))
        assert urges == N and ticket.urge_count == N


def test_registrations_of_one_type_do_not_queue_on_the_serial_counter(pg):
    """The counter row is bumped in a short transaction of its own: a registration still open does
    not make the next one wait (it used to, for its whole transaction)."""
    ticket_id, _, _, agent_ids = _setup(pg)
    with pg() as s:
        first = s.get(Ticket, ticket_id)
        type_id, serial = first.type_id, first.serial
    assert serial.endswith("-000001")  # the type was created in the same transaction: counted there
    with pg() as a, pg() as b:
        factory_a, factory_b = Factory(a), Factory(b)
        ticket_type = a.get(Ticket, ticket_id).ticket_type
        open_one = service.register(
            a,
            actor=factory_a.actor(a.get(User, agent_ids[1])),
            ticket_type=ticket_type,
            channel="phone",
            subject="未提交",
        )
        a.flush()
        b.execute(text("SET lock_timeout = '2s'"))  # waiting on a's counter row would fail here
        other = service.register(
            b,
            actor=factory_b.actor(b.get(User, agent_ids[2])),
            ticket_type=b.get(type(ticket_type), type_id),
            channel="phone",
            subject="已提交",
        )
        b.commit()
        assert (open_one.serial[-6:], other.serial[-6:]) == ("000002", "000003")
        a.rollback()  # a failed registration leaves a gap, as a sequence does
    with pg() as s:
        serials = sorted(s.scalars(select(Ticket.serial).where(Ticket.type_id == type_id)))
    assert [x[-6:] for x in serials] == ["000001", "000003"]


def test_a_type_created_in_the_registering_transaction_numbers_in_line(pg):
    """Type and tickets in one transaction (a demo seed, an import): the counter row is that
    transaction's own, so the serials are counted there — never waiting on itself."""
    with pg() as s:
        seed_defaults(s)
        factory = Factory(s)
        admin = factory.actor(factory.user(admin=True))
        agent = factory.actor(factory.user(AGENT))
        ticket_type = presets.standard_type(s, actor=admin, code="INLINE")
        serials = [
            service.register(
                s, actor=agent, ticket_type=ticket_type, channel="phone", subject=f"第{i}单"
            ).serial
            for i in range(3)
        ]
        s.commit()
    assert [x[-6:] for x in serials] == ["000001", "000002", "000003"]
