"""Data generator for benchmarks: a department tree, staff with roles, audit history.

`python -m bench.generate --db URL --users 10000` fills a migrated database; `generate()` is also
used by `bench.run`. Deterministic (seeded) so runs are comparable.
"""

from __future__ import annotations

import argparse
import random
from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from kefu.audit.models import AuditLog
from kefu.core import clock, security
from kefu.db import make_engine
from kefu.migrate import upgrade
from kefu.org.models import DataScope, Department, Role, User, UserGroup, UserRole

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def generate(
    session: Session, *, users: int, departments: int = 60, audit_rows: int = 0, seed: int = 7
) -> dict:
    rng = random.Random(seed)
    root = Department(code="B0", name="客服中心", path="")
    session.add(root)
    session.flush()
    root.path = f"/{root.id}/"
    depts = [root]
    for i in range(1, departments):
        parent = rng.choice(depts[: max(1, len(depts) // 2 + 1)])
        d = Department(code=f"B{i}", name=f"话务{i}组", parent_id=parent.id, path="")
        session.add(d)
        session.flush()
        d.path = parent.path + f"{d.id}/"
        depts.append(d)
    group = UserGroup(code="bench", name="bench", functions=["admin.users", "notices.messages"])
    session.add(group)
    session.flush()
    agent = Role(
        group_id=group.id,
        code="agent",
        name="话务员",
        permissions=["notices.messages.send"],
        data_scope=DataScope.OWN,
    )
    lead = Role(
        group_id=group.id,
        code="lead",
        name="班长",
        permissions=["admin.users.view"],
        data_scope=DataScope.SUBTREE,
    )
    session.add_all([agent, lead])
    session.flush()
    password_hash = security.hash_password("Bench-pass-1")  # one hash: argon2 is slow on purpose
    rows = [
        {
            "username": f"u{i:06d}",
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "department_id": rng.choice(depts).id,
            "password_hash": password_hash,
            "is_active": True,
            "email": "",
            "mobile": f"138{i:08d}",
            "phone_ext": "",
            "agent_no": f"{i:05d}",
            "skills": [],
            "locale": "",
            "failed_logins": 0,
            "must_change_password": False,
            "created_at": clock.now(),
        }
        for i in range(users)
    ]
    session.execute(insert(User), rows)
    ids = [u for (u,) in session.execute(User.__table__.select().with_only_columns(User.id))]
    session.execute(insert(UserRole), [{"user_id": uid, "role_id": agent.id} for uid in ids])
    if audit_rows:
        start = clock.now() - timedelta(days=90)
        session.execute(
            insert(AuditLog),
            [
                {
                    "at": start + timedelta(seconds=i * 7),
                    "actor_id": rng.choice(ids),
                    "actor_name": "bench",
                    "client_ip": f"10.0.{i % 250}.{i % 200}",
                    "function": "admin.users",
                    "action": "user.update",
                    "target_type": "app_user",
                    "target_id": str(rng.choice(ids)),
                    "target_label": "",
                    "summary": f"变更 {i}",
                    "correlation_id": f"{i:016x}",
                }
                for i in range(audit_rows)
            ],
        )
    session.flush()
    return {"root": root.id, "lead_role": lead.id, "user_ids": ids, "departments": [d.id for d in depts]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--audit-rows", type=int, default=0)
    args = parser.parse_args()
    engine = make_engine(args.db)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        generate(session, users=args.users, audit_rows=args.audit_rows)


if __name__ == "__main__":
    main()
