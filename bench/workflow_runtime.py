"""Workflow runtime benchmarks with a real database: `python -m bench.workflow_runtime --db sqlite|postgres`.

Through the service layer, each action in its own unit of work (load, act, commit), as a request or
job would run it:

- one step: complete a task — restore the instance, complete, persist the state, diff the tasks,
  resolve the next node's candidates, dispatch, notify, audit, commit. Measured for the typical
  case (the next task auto-dispatched to the least loaded of ten) and for a grab pool of fifteen
  candidates, which writes fifteen messages;
- a whole approval flow: start, two manual dispatches, a reject loop, a grab claim — six
  completions and ten units of work in all.

Prints a Markdown table of medians and p95 (target: p95 of one step ≤ 10 ms).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.workflow_engine import summary
from kefu.core.permissions import Actor, build_actor
from kefu.db import make_engine
from kefu.migrate import upgrade
from kefu.models import Base
from kefu.org.models import Department, Role, User, UserGroup
from kefu.workflow import flows
from kefu.workflow.runtime import access, service
from kefu.workflow.runtime.models import FlowInstance, FlowTask

APPROVAL = Path(__file__).resolve().parent.parent / "tests" / "api" / "flows" / "approval.bpmn"
HANDLER = ["workflow.tasks.handle", "workflow.tasks.start", "workflow.tasks.dispatch"]


class World:
    """People and a published approval flow; `act(user_id, fn)` runs fn in a fresh unit of work."""

    def __init__(self, make: sessionmaker[Session]) -> None:
        self.make = make
        self._scopes: dict[int, dict] = {}
        with make() as s, s.begin():
            dept = Department(code="KF-BO", name="后台", path="")
            front = Department(code="FRONT", name="前台", path="")
            s.add_all([dept, front])
            group = UserGroup(code="second-line", name="二线", functions=["workflow.tasks"])
            s.add(group)
            s.flush()
            dept.path, front.path = f"/{dept.id}/", f"/{front.id}/"
            backoffice = Role(group_id=group.id, code="backoffice", name="后台", permissions=HANDLER)
            line = Role(group_id=group.id, code="l2", name="二线", permissions=HANDLER)
            s.add_all([backoffice, line])
            s.flush()
            self.reviewers = [self._user(s, f"bo{i}", dept, [backoffice]) for i in range(10)]
            self.line = [self._user(s, f"l2_{i}", None, [line]) for i in range(5)]
            self.initiator = self._user(s, "initiator", front, [line])
            admin = build_actor(s, s.get(User, self.initiator))
            template = flows.create_template(
                s, actor=admin, code="complaint", name="投诉", bpmn_xml=APPROVAL.read_text()
            )
            self.version_id = flows.publish(s, actor=admin, version=template.versions[0]).id

    def _user(self, s: Session, username: str, dept: Department | None, roles: list[Role]) -> int:
        user = User(username=username, name=username, department_id=dept.id if dept else None, roles=roles)
        s.add(user)
        s.flush()
        self._scopes[user.id] = build_actor(s, user).scopes
        return user.id

    def act(self, user_id: int, fn: Callable[[Session, Actor], object]) -> object:
        with self.make() as s, s.begin():
            user = s.get(User, user_id)
            return fn(s, Actor(user=user, scopes=self._scopes[user_id], department_path=""))

    # --- steps ------------------------------------------------------------------------------------------

    def start(self) -> int:
        def go(s: Session, actor: Actor) -> int:
            version = flows.get_version(s, self.version_id)
            return service.start_instance(
                s, version=version, subject_type="sample", subject_id=1, data={}, actor=actor
            ).id

        return self.act(self.initiator, go)  # type: ignore[return-value]

    def open_task(self, instance_id: int) -> tuple[int, str, int | None]:
        with self.make() as s:
            task = next(t for t in s.get(FlowInstance, instance_id).tasks if t.is_active)
            return task.id, task.node_id, task.assignee_id

    def dispatch(self, task_id: int) -> None:
        self.act(
            self.initiator,
            lambda s, a: service.assign_task(
                s, task=s.get(FlowTask, task_id), user_id=self.initiator, comment="", actor=a
            ),
        )

    def claim(self, task_id: int, user_id: int) -> None:
        self.act(user_id, lambda s, a: service.claim_task(s, task=s.get(FlowTask, task_id), actor=a))

    def complete(self, task_id: int, user_id: int, state: str | None = None) -> None:
        self.act(
            user_id,
            lambda s, a: service.complete_task(
                s, task=access.load_task(s, a, task_id), state=state, comment="bench", data={}, actor=a
            ),
        )

    def to_register(self) -> int:
        """A new flow whose register task is dispatched to the initiator; the task id."""
        instance_id = self.start()
        task_id, _, _ = self.open_task(instance_id)
        self.dispatch(task_id)
        return task_id

    def open_reviews(self) -> list[tuple[int, int]]:
        with self.make() as s:
            stmt = select(FlowTask.id, FlowTask.assignee_id).where(
                FlowTask.node_id == "review", FlowTask.status == "open"
            )
            return sorted(s.execute(stmt).tuples())

    def whole_flow(self) -> None:
        instance_id = self.start()
        for review_state in ("rejected", "approved"):
            task_id, _, _ = self.open_task(instance_id)
            self.dispatch(task_id)
            self.complete(task_id, self.initiator)
            task_id, _, assignee = self.open_task(instance_id)
            self.complete(task_id, assignee, review_state)  # type: ignore[arg-type]
        task_id, node, _ = self.open_task(instance_id)
        assert node == "handle"
        self.claim(task_id, self.line[0])
        self.complete(task_id, self.line[0])
        task_id, node, assignee = self.open_task(instance_id)
        assert node == "close" and assignee == self.initiator
        self.complete(task_id, self.initiator)
        with self.make() as s:
            assert s.get(FlowInstance, instance_id).status == "completed"


def _database(kind: str) -> tuple[str, Callable[[], None]]:
    if kind == "postgres":
        from tests.conftest import create_pg_database, drop_pg_database

        name = f"kefu_bench_{uuid.uuid4().hex[:8]}"
        return create_pg_database(name), lambda: drop_pg_database(name)
    return f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}", lambda: None


def bench(kind: str, *, repeat: int, flows_repeat: int) -> list[tuple[str, float, float, str]]:
    url, drop = _database(kind)
    engine = make_engine(url)
    try:
        upgrade(engine)
        Base.metadata.create_all(engine)  # runtime tables whose migration the lead generates
        world = World(sessionmaker(engine, expire_on_commit=False))
        auto: list[float] = []
        pending = [world.to_register() for _ in range(repeat + 5)]
        for i, task_id in enumerate(pending):
            t0 = time.perf_counter()
            world.complete(task_id, world.initiator)
            if i >= 5:  # warm-up
                auto.append(time.perf_counter() - t0)
        rows = [
            (
                "one step: complete register → review auto-dispatched to the least loaded of 10",
                *summary(auto),
                kind,
            )
        ]
        grab: list[float] = []
        for i, (task_id, assignee) in enumerate(world.open_reviews()):
            t0 = time.perf_counter()
            world.complete(task_id, assignee, "approved")
            if i >= 5:
                grab.append(time.perf_counter() - t0)
        rows.append(("one step: complete review → grab pool of 15 (15 messages)", *summary(grab), kind))
        world.whole_flow()
        flow_samples = []
        for _ in range(flows_repeat):
            t0 = time.perf_counter()
            world.whole_flow()
            flow_samples.append(time.perf_counter() - t0)
        rows.append(("whole approval flow: 6 completions, 10 units of work", *summary(flow_samples), kind))
        return rows
    finally:
        engine.dispose()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--flows", type=int, default=40)
    args = parser.parse_args()
    rows = []
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        rows += bench(kind, repeat=args.repeat, flows_repeat=args.flows)
    print("| case | database | median | p95 |")
    print("|---|---|---|---|")
    for name, med, p95, kind in rows:
        print(f"| {name} | {kind} | {med * 1000:.2f} ms | {p95 * 1000:.2f} ms |")


if __name__ == "__main__":
    main()
