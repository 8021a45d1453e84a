"""Concurrent steps on one flow, on PostgreSQL with one connection per worker: a stale save is a 409,
never a lost update — three countersigners voting at once keep all three votes (after retrying)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kefu.core.errors import Conflict
from kefu.db import make_engine
from kefu.models import Base
from kefu.org.models import User
from kefu.workflow import flows
from kefu.workflow.runtime import service
from kefu.workflow.runtime.models import FlowInstance, FlowTask
from kefu.workflow.runtime.sync import restore
from tests.support import Factory

FLOWS = Path(__file__).parent / "flows"
HANDLER = ["workflow.tasks.handle", "workflow.tasks.start"]


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> Any:
    if request.config.getoption("--db") != "postgres":
        pytest.skip("separate connections with row locks: PostgreSQL only")
    url = request.getfixturevalue("fresh_pg_url")
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def _setup(make: sessionmaker[Session], rule: str) -> tuple[int, list[int], dict[int, int]]:
    """A refund flow waiting at its countersign; (instance id, leader ids, leader → task id)."""
    with make() as s:
        factory = Factory(s)
        admin = factory.actor(factory.user(admin=True))
        xml = (FLOWS / "countersign.bpmn").read_text().replace('mode="quorum" quorum="2"', rule)
        template = flows.create_template(s, actor=admin, code="refund", name="refund", bpmn_xml=xml)
        version = flows.publish(s, actor=admin, version=template.versions[0])
        leader = factory.role(HANDLER)
        leader.code = "leader"
        leaders = []
        for _ in range(3):
            user = factory.user()
            user.roles = [leader]
            leaders.append(user.id)
        initiator = factory.actor(factory.user(HANDLER))
        instance = service.start_instance(
            s, version=version, subject_type="sample", subject_id=7, data={}, actor=initiator
        )
        prepare = instance.tasks[0]
        service.complete_task(s, task=prepare, state="done", comment="", data={}, actor=initiator)
        s.commit()
        signs = s.scalars(select(FlowTask).where(FlowTask.node_id == "sign", FlowTask.status == "open")).all()
        return instance.id, leaders, {t.assignee_id: t.id for t in signs}


def _at_once(make: sessionmaker[Session], steps: list[Callable[[Session], None]]) -> list[str]:
    """Each step in its own thread and connection; all load first, then all write at once."""
    loaded = threading.Barrier(len(steps))
    results: list[str] = [""] * len(steps)

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
        t.join(timeout=60)
    return results


def _vote(leader_id: int, task_id: int, state: str = "approved") -> Callable[..., None]:
    def step(s: Session, loaded: threading.Barrier | None = None) -> None:
        task = s.get(FlowTask, task_id)
        actor = Factory(s).actor(_user(s, leader_id))
        _ = task.instance.state_json  # loaded before anyone writes
        if loaded is not None:
            loaded.wait(timeout=30)
        service.complete_task(s, task=task, state=state, comment="", data={}, actor=actor)

    return step


def _user(s: Session, user_id: int) -> User:
    return s.get(User, user_id)


def test_three_countersigners_at_once_lose_no_vote(pg):
    instance_id, leaders, tasks = _setup(pg, 'mode="all"')
    results = _at_once(pg, [_vote(lid, tasks[lid]) for lid in leaders])
    assert sorted(results) == ["conflict", "conflict", "ok"]
    # The losers were told (409) and nothing of theirs was half-written; they simply try again.
    for lid, result in zip(leaders, results, strict=True):
        if result == "conflict":
            with pg() as s:
                _vote(lid, tasks[lid])(s)
                s.commit()
    with pg() as s:
        instance = s.get(FlowInstance, instance_id)
        record = restore(instance).data["kefu_countersign"]["sign"]
        assert sorted(v["participant"] for v in record["votes"]) == sorted(leaders)
        assert record["outcome"] == "approved"
        open_nodes = s.scalars(
            select(FlowTask.node_id).where(FlowTask.instance_id == instance_id, FlowTask.status == "open")
        ).all()
        assert open_nodes == ["pay"]


def test_two_claims_at_once_one_wins(pg):
    with pg() as s:
        factory = Factory(s)
        admin = factory.actor(factory.user(admin=True))
        xml = (FLOWS.parent.parent / "flows" / "approval.bpmn").read_text()
        xml = xml.replace(
            '<kefu:node dispatch="manual">',
            '<kefu:node dispatch="grab"><kefu:assign kind="role" ref="pool"/>',
        )
        template = flows.create_template(s, actor=admin, code="grab", name="grab", bpmn_xml=xml)
        version = flows.publish(s, actor=admin, version=template.versions[0])
        role = factory.role(HANDLER)
        role.code = "pool"
        a, b = factory.user(), factory.user()
        a.roles, b.roles = [role], [role]
        starter = factory.actor(factory.user(HANDLER))
        instance = service.start_instance(
            s, version=version, subject_type="sample", subject_id=8, data={}, actor=starter
        )
        task_id, ids = instance.tasks[0].id, (a.id, b.id)
        s.commit()

    def claim(user_id: int) -> Callable[..., None]:
        def step(s: Session, loaded: threading.Barrier) -> None:
            task = s.get(FlowTask, task_id)
            actor = Factory(s).actor(_user(s, user_id))
            _ = task.candidate_ids
            loaded.wait(timeout=30)
            service.claim_task(s, task=task, actor=actor)

        return step

    assert sorted(_at_once(pg, [claim(u) for u in ids])) == ["conflict", "ok"]
    with pg() as s:
        assert s.get(FlowTask, task_id).assignee_id in ids
