"""Demo ticket desk: business categories, a form template, case templates, the standard ticket type
and a handful of tickets at different stages of their flow, so every demo role finds work waiting.

Everything goes through the same services the screens use; the seed is idempotent (it does nothing
when the demo ticket type exists already).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.permissions import Actor, build_actor
from kefu.org.models import Department, User
from kefu.tickets import presets, service
from kefu.tickets.models import CaseTemplate, Ticket, TicketType
from kefu.tickets.setup import service as setup

TYPE_CODE = "TS"

CATEGORIES = [
    # code, name, parent code
    ("BROADBAND", "宽带业务", None),
    ("BB-FAULT", "宽带故障", "BROADBAND"),
    ("BB-BILL", "宽带资费", "BROADBAND"),
    ("CATV", "有线电视", None),
    ("CATV-STB", "机顶盒与智能卡", "CATV"),
    ("SERVICE", "服务质量", None),
]

ELEMENTS = [
    {"code": "service_number", "label": "业务号码", "type": "text", "required": True, "max_length": 40},
    {"code": "contact_phone", "label": "联系电话", "type": "phone", "required": True},
    {
        "code": "area",
        "label": "所属区域",
        "type": "choice",
        "options": [["east", "东城区"], ["west", "西城区"], ["south", "南郊"], ["north", "北郊"]],
    },
    {"code": "address", "label": "装机地址", "type": "text", "max_length": 200},
    {"code": "callback_at", "label": "希望回电时间", "type": "datetime"},
    {"code": "photos", "label": "现场照片", "type": "attachment"},
]

CASES = [
    # code, name, category code, subject, description, priority, nature
    (
        "BB-NOLINK",
        "宽带无法上网",
        "BB-FAULT",
        "宽带无法上网",
        "用户反映宽带无法上网，光猫 LOS 灯红色闪烁，已重启光猫无效。",
        "urgent",
        "fault",
    ),
    (
        "STB-NOSIG",
        "机顶盒无信号",
        "CATV-STB",
        "机顶盒提示无信号",
        "用户反映电视画面提示“无信号”，已检查机顶盒与电视连线。",
        "normal",
        "fault",
    ),
    (
        "BB-FEE",
        "宽带资费咨询",
        "BB-BILL",
        "宽带资费咨询",
        "用户咨询当前宽带套餐资费及升级办法。",
        "normal",
        "inquiry",
    ),
]

TICKETS = [
    # case code, customer name, phone, service number, area, how far the flow goes
    ("BB-NOLINK", "孙丽", "13912345678", "BB02150001", "east", "new"),
    ("STB-NOSIG", "周建国", "13798765432", "CA8800123", "west", "new"),
    ("BB-FEE", "吴晓燕", "13600001111", "BB02150777", "north", "accepted"),
    ("BB-NOLINK", "郑海", "13522223333", "BB02150456", "south", "review"),
    ("STB-NOSIG", "冯雪", "13444445555", "CA8800999", "east", "closing"),
    ("BB-FEE", "陈刚", "13355556666", "BB02150888", "west", "closed"),
]


def seed(
    session: Session, *, admin: User, users: Mapping[str, User], handling_department: Department
) -> None:
    """Create the demo desk (once). `users` maps demo usernames to users: agent01 registers,
    backoffice01 handles, leader01 (agent01's supervisor) reviews."""
    if session.scalars(select(TicketType).where(TicketType.code == TYPE_CODE)).first() is not None:
        return
    actor = build_actor(session, admin)
    categories: dict[str, int] = {}
    for code, name, parent in CATEGORIES:
        category = setup.create_category(
            session, actor=actor, code=code, name=name, parent_id=categories.get(parent or "")
        )
        categories[code] = category.id
    form = setup.create_form_template(
        session,
        actor=actor,
        code="consult_form",
        name="咨询投诉登记单",
        category_id=categories["BROADBAND"],
        department_id=handling_department.id,
        status="active",
        elements=ELEMENTS,
    )
    session.flush()
    ticket_type = presets.standard_type(
        session,
        actor=actor,
        code=TYPE_CODE,
        name="咨询投诉",
        department_id=handling_department.id,
        form_template_id=form.id,
    )
    ticket_type.category_id = categories["BROADBAND"]
    cases: dict[str, CaseTemplate] = {}
    for code, name, category, subject, description, priority, nature in CASES:
        cases[code] = setup.create_case_template(
            session,
            actor=actor,
            code=code,
            name=name,
            type_id=ticket_type.id,
            category_id=categories[category],
            subject=subject,
            description=description,
            priority=priority,
            nature=nature,
        )
    session.flush()
    people = {name: build_actor(session, user) for name, user in users.items()}
    agent = people["agent01"]
    for case_code, customer, phone, number, area, stage in TICKETS:
        ticket = service.register(
            session,
            actor=agent,
            ticket_type=ticket_type,
            case_template=cases[case_code],
            channel="phone",
            subject=None,
            customer_name=customer,
            customer_phone=phone,
            fields={"service_number": number, "contact_phone": phone, "area": area},
        )
        _advance(session, ticket, stage, people)


def _advance(session: Session, ticket: Ticket, stage: str, people: Mapping[str, Actor]) -> None:
    """Walk the ticket through its flow as the people concerned would."""
    steps = {
        "new": [],
        "accepted": [("backoffice01", "accept")],
        "review": [("backoffice01", "complete:complete")],
        "closing": [("backoffice01", "complete:complete"), ("leader01", "complete:pass")],
        "closed": [
            ("backoffice01", "complete:complete"),
            ("leader01", "complete:pass"),
            ("agent01", "complete:close"),
        ],
    }[stage]
    for who, step in steps:
        actor = people[who]
        if step == "accept":
            service.accept(session, actor=actor, ticket=ticket, expected_version=None)
            continue
        state = step.split(":", 1)[1]
        comment = {
            "complete": "已上门检修，线路恢复正常，用户确认可以使用。",
            "pass": "处理结果属实，同意。",
            "close": "已回电用户确认，结单。",
        }[state]
        service.complete(
            session, actor=actor, ticket=ticket, expected_version=None, state=state, comment=comment
        )
