"""The demo organisation: a customer-service center with a user for every role. Idempotent."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu import bootstrap
from kefu.callcenter import demo as callcenter_demo
from kefu.core import security
from kefu.customers.demo_data import seed_demo_customers
from kefu.knowledge import demo as knowledge_demo
from kefu.messaging import demo as messaging_demo
from kefu.notices import announcement_demo
from kefu.notices.service import notify
from kefu.org.models import DataScope, Department, Role, User, UserGroup
from kefu.presets import loader as preset_loader
from kefu.tickets import demo as ticket_demo

DEMO_PASSWORD = "Demo@2026"

DEPARTMENTS = [
    # code, name, parent code
    ("KF", "客服中心", None),
    ("KF-L1A", "一线话务一组", "KF"),
    ("KF-L1B", "一线话务二组", "KF"),
    ("KF-BO", "后台处理组", "KF"),
    ("KF-QA", "质检组", "KF"),
    ("KF-KB", "知识管理组", "KF"),
    ("IT", "信息技术部", None),
]

GROUPS = [
    # code, name, functions
    (
        "service",
        "客服业务",
        [
            "notices.messages",
            "admin.users",
            "admin.shifts",
            "tickets.ticket",
            "tickets.callback",
            "tickets.config",
            *knowledge_demo.GROUP_FUNCTIONS,
            *messaging_demo.GROUP_FUNCTIONS,
            "customers.customer",
            "customers.contact",
            "customers.business",
            "customers.config",
            "callcenter.agent",
            "callcenter.calls",
            "callcenter.monitor",
            "callcenter.campaign",
        ],
    ),
    ("audit", "审计", ["audit.log", "audit.errors"]),
]

AGENT_TICKETS = [
    *(f"tickets.ticket.{op}" for op in ("view", "create", "handle", "urge", "track")),
    "tickets.callback.view",
    "tickets.callback.handle",
    "callcenter.agent.use",
]
LEADER_TICKETS = [
    *(f"tickets.ticket.{op}" for op in ("view", "create", "handle", "dispatch", "manage", "urge", "track")),
    *(f"tickets.callback.{op}" for op in ("view", "assign", "handle")),
    "tickets.config.view",
    "callcenter.agent.use",
    "callcenter.calls.view",
    "callcenter.monitor.view",
    "callcenter.campaign.view",
    "callcenter.campaign.manage",
]
BACKOFFICE_TICKETS = [f"tickets.ticket.{op}" for op in ("view", "handle", "urge", "track")]

# Everyone at the desk looks customers up, whoever manages them (a caller may be anybody's customer).
CUSTOMER_DESK = [
    "customers.customer.view",
    "customers.customer.create",
    "customers.customer.edit",
    "customers.contact.view",
    "customers.contact.create",
    "customers.business.view",
]

ROLES = [
    # group, code, name, scope, permissions
    ("service", "agent", "话务员", DataScope.OWN, ["notices.messages.send", *AGENT_TICKETS]),
    (
        "service",
        "leader",
        "班长",
        DataScope.DEPARTMENT,
        [
            "notices.messages.send",
            "admin.users.view",
            "admin.shifts.view",
            "admin.shifts.edit",
            *LEADER_TICKETS,
        ],
    ),
    (
        "service",
        "backoffice",
        "后台处理人员",
        DataScope.DEPARTMENT,
        ["notices.messages.send", *BACKOFFICE_TICKETS],
    ),
    ("service", "kb_editor", "知识编辑", DataScope.OWN, ["notices.messages.send"]),
    ("service", "customer_desk", "客户服务台", DataScope.ALL, CUSTOMER_DESK),
    (
        "audit",
        "auditor",
        "审计员",
        DataScope.ALL,
        ["audit.log.view", "audit.log.export", "audit.errors.view", "audit.errors.export"],
    ),
]

USERS = [
    # username, name, department, role codes, agent no, extension
    ("admin", "系统管理员", "IT", ["admin"], "", ""),
    ("agent01", "张敏", "KF-L1A", ["agent", "customer_desk"], "1001", "8001"),
    ("agent02", "李强", "KF-L1B", ["agent", "customer_desk"], "1002", "8002"),
    ("leader01", "王芳", "KF-L1A", ["leader", "customer_desk"], "1090", "8090"),
    ("backoffice01", "赵磊", "KF-BO", ["backoffice", "customer_desk"], "", "8101"),
    ("kbeditor01", "陈静", "KF-KB", ["kb_editor"], "", "8201"),
    ("auditor01", "刘洋", "KF-QA", ["auditor"], "", "8301"),
]

DEMO_USERS = [u[0] for u in USERS]


def seed(
    session: Session, *, generic: bool = True, presets: Sequence[str] = ()
) -> list[tuple[str, str, str]]:
    """Create what is missing; returns (account, password, role name) for every demo user.

    `generic` adds the generic demo desk (tickets, knowledge, call center, messaging, customers);
    `presets` loads industry presets (`kefu.presets`) on top of the demo organisation."""
    admin_role = bootstrap.ensure_builtins(session)
    depts: dict[str, Department] = {d.code: d for d in session.scalars(select(Department))}
    for code, name, parent in DEPARTMENTS:
        if code in depts:
            continue
        parent_dept = depts[parent] if parent else None
        dept = Department(code=code, name=name, parent_id=parent_dept.id if parent_dept else None)
        session.add(dept)
        session.flush()
        dept.path = (parent_dept.path if parent_dept else "/") + f"{dept.id}/"
        depts[code] = dept
    groups = {g.code: g for g in session.scalars(select(UserGroup))}
    for code, name, functions in GROUPS:
        if code not in groups:
            groups[code] = UserGroup(code=code, name=name, functions=functions)
            session.add(groups[code])
    session.flush()
    roles: dict[str, Role] = {"admin": admin_role}
    for group_code, code, name, scope, permissions in ROLES:
        group = groups[group_code]
        role = session.scalars(select(Role).where(Role.group_id == group.id, Role.code == code)).first()
        if role is None:
            granted = [
                *permissions,
                *knowledge_demo.ROLE_PERMISSIONS.get(code, []),
                *messaging_demo.ROLE_PERMISSIONS.get(code, []),
            ]
            role = Role(group_id=group.id, code=code, name=name, data_scope=scope, permissions=granted)
            session.add(role)
        roles[code] = role
    session.flush()
    depts["KF-L1A"].supervisor_id = None
    accounts = []
    for username, name, dept_code, role_codes, agent_no, ext in USERS:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            user = User(
                username=username,
                name=name,
                department_id=depts[dept_code].id,
                password_hash=security.hash_password(DEMO_PASSWORD),
                must_change_password=False,
                agent_no=agent_no,
                phone_ext=ext,
                roles=[roles[c] for c in role_codes],
            )
            session.add(user)
            session.flush()
            notify(
                session,
                user_ids=[user.id],
                title="欢迎使用客服中心平台",
                body="这是演示环境。消息会实时推送到这里。",
                link="/",
            )
        accounts.append((username, DEMO_PASSWORD, "、".join(roles[c].name for c in role_codes)))
    leader = session.scalars(select(User).where(User.username == "leader01")).one()
    depts["KF-L1A"].supervisor_id = leader.id
    session.flush()
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(DEMO_USERS)))}
    if generic:
        ticket_demo.seed(session, admin=users["admin"], users=users, handling_department=depts["KF-BO"])
        knowledge_demo.seed(session, admin=users["admin"], users=users, maintaining_department=depts["KF-KB"])
        announcement_demo.seed(session)
        callcenter_demo.seed(session, users=users)
        messaging_demo.seed(session, admin=users["admin"])
        agents = [users[name] for name in ("agent01", "agent02", "leader01")]
        seed_demo_customers(session, admin=users["admin"], agents=agents)
    for name in presets:
        accounts.extend(preset_loader.load(session, name, password=DEMO_PASSWORD).accounts)
    return accounts
