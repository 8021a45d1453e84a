"""Every mutating API route writes an audit row in the same transaction as its change.

The walker finds every POST/PUT/PATCH/DELETE route; each must have a scenario below that performs a
valid call. A route without a scenario fails the test, so new routes cannot skip auditing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kefu.audit import service as audit_service
from kefu.audit.models import AuditLog
from kefu.org.calendar.models import HolidayOverride, RosterEntry, Shift
from kefu.org.config.models import DictType
from kefu.org.models import ApiToken, Department, IpRule, Role, User, UserGroup
from kefu.workflow.models import FlowTemplate
from tests.api.test_access_matrix import ROUTES
from tests.support import PASSWORD, Factory


@dataclass
class Ctx:
    factory: Factory
    session: Any
    admin: User
    headers: dict[str, str]


Scenario = Callable[[Ctx], tuple[str, dict[str, Any] | None]]


def _dept(c: Ctx) -> Department:
    return c.factory.department()


def _group(c: Ctx) -> UserGroup:
    return c.factory.role(["admin.users.view"]).group


def _role(c: Ctx) -> Role:
    return c.factory.role(["admin.users.view"])


def _rule(c: Ctx) -> IpRule:
    rule = IpRule(scope="global", cidr="127.0.0.0/8")
    c.session.add(rule)
    c.session.flush()
    return rule


def _fresh_user(c: Ctx) -> User:
    return c.factory.user()


def _token(c: Ctx) -> ApiToken:
    c.factory.token_login(c.admin)
    return c.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()


def _dict_type(c: Ctx) -> DictType:
    from kefu.org.config.models import DictItem

    t = DictType(
        code=f"walk_{c.admin.id}",
        name="walk",
        items=[DictItem(code="a", label="甲", sort=1), DictItem(code="b", label="乙", sort=2)],
    )
    c.session.add(t)
    c.session.flush()
    return t


def _reorder(c: Ctx) -> tuple[str, dict[str, Any]]:
    t = _dict_type(c)
    return f"/api/v1/dictionary/{t.code}/items/order", {"item_ids": [i.id for i in reversed(t.items)]}


SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("PATCH", "/api/v1/me"): lambda c: ("/api/v1/me", {"locale": "en"}),
    ("POST", "/api/v1/dictionary"): lambda c: ("/api/v1/dictionary", {"code": "walk_type", "name": "walk"}),
    ("PATCH", "/api/v1/dictionary/{code}"): lambda c: (
        f"/api/v1/dictionary/{_dict_type(c).code}",
        {"name": "w2"},
    ),
    ("DELETE", "/api/v1/dictionary/{code}"): lambda c: (f"/api/v1/dictionary/{_dict_type(c).code}", None),
    ("POST", "/api/v1/dictionary/{code}/items"): lambda c: (
        f"/api/v1/dictionary/{_dict_type(c).code}/items",
        {"code": "c", "label": "丙"},
    ),
    ("PUT", "/api/v1/dictionary/{code}/items/order"): _reorder,
    ("PATCH", "/api/v1/dictionary/{code}/items/{item_id}"): lambda c: (
        (lambda t: f"/api/v1/dictionary/{t.code}/items/{t.items[0].id}")(_dict_type(c)),
        {"label": "甲甲"},
    ),
    ("DELETE", "/api/v1/dictionary/{code}/items/{item_id}"): lambda c: (
        (lambda t: f"/api/v1/dictionary/{t.code}/items/{t.items[0].id}")(_dict_type(c)),
        None,
    ),
    ("PUT", "/api/v1/parameters/{key}"): lambda c: (
        "/api/v1/parameters/security.lockout_threshold",
        {"value": 6},
    ),
    ("POST", "/api/v1/auth/login"): lambda c: (
        "/api/v1/auth/login",
        {"username": c.admin.username, "password": PASSWORD},
    ),
    ("POST", "/api/v1/me/password"): lambda c: (
        "/api/v1/me/password",
        {"current_password": PASSWORD, "new_password": "An0ther-pass!"},
    ),
    ("POST", "/api/v1/notifications/read"): lambda c: (
        c.factory_notify(),
        ("/api/v1/notifications/read", {}),
    )[1],
    ("POST", "/api/v1/notifications/send"): lambda c: (
        "/api/v1/notifications/send",
        {"to_user_ids": [c.admin.id], "title": "hello"},
    ),
    ("POST", "/api/v1/org/departments"): lambda c: (
        "/api/v1/org/departments",
        {"code": "W1", "name": "walk"},
    ),
    ("PATCH", "/api/v1/org/departments/{department_id}"): lambda c: (
        f"/api/v1/org/departments/{_dept(c).id}",
        {"name": "renamed"},
    ),
    ("DELETE", "/api/v1/org/departments/{department_id}"): lambda c: (
        f"/api/v1/org/departments/{_dept(c).id}",
        None,
    ),
    ("POST", "/api/v1/org/groups"): lambda c: ("/api/v1/org/groups", {"code": "wg", "name": "walk"}),
    ("PATCH", "/api/v1/org/groups/{group_id}"): lambda c: (
        f"/api/v1/org/groups/{_group(c).id}",
        {"name": "g2"},
    ),
    ("DELETE", "/api/v1/org/groups/{group_id}"): lambda c: (
        f"/api/v1/org/groups/{c.factory_empty_group().id}",
        None,
    ),
    ("POST", "/api/v1/org/roles"): lambda c: (
        "/api/v1/org/roles",
        {"group_id": _group(c).id, "code": "wr", "name": "walk"},
    ),
    ("PATCH", "/api/v1/org/roles/{role_id}"): lambda c: (f"/api/v1/org/roles/{_role(c).id}", {"name": "r2"}),
    ("DELETE", "/api/v1/org/roles/{role_id}"): lambda c: (f"/api/v1/org/roles/{_role(c).id}", None),
    ("POST", "/api/v1/org/users"): lambda c: ("/api/v1/org/users", {"username": "walker", "name": "Walker"}),
    ("PATCH", "/api/v1/org/users/{user_id}"): lambda c: (
        f"/api/v1/org/users/{_fresh_user(c).id}",
        {"name": "n2"},
    ),
    ("DELETE", "/api/v1/org/users/{user_id}"): lambda c: (f"/api/v1/org/users/{_fresh_user(c).id}", None),
    ("POST", "/api/v1/org/users/{user_id}/reset-password"): lambda c: (
        f"/api/v1/org/users/{_fresh_user(c).id}/reset-password",
        None,
    ),
    ("POST", "/api/v1/org/users/{user_id}/unlock"): lambda c: (
        f"/api/v1/org/users/{_fresh_user(c).id}/unlock",
        None,
    ),
    ("POST", "/api/v1/org/ip-rules"): lambda c: (
        "/api/v1/org/ip-rules",
        {"scope": "global", "cidr": "127.0.0.1"},
    ),
    ("PATCH", "/api/v1/org/ip-rules/{rule_id}"): lambda c: (
        f"/api/v1/org/ip-rules/{_rule(c).id}",
        {"note": "n"},
    ),
    ("DELETE", "/api/v1/org/ip-rules/{rule_id}"): lambda c: (f"/api/v1/org/ip-rules/{_rule(c).id}", None),
    ("POST", "/api/v1/org/tokens"): lambda c: ("/api/v1/org/tokens", {"user_id": c.admin.id, "name": "walk"}),
    ("DELETE", "/api/v1/org/tokens/{token_id}"): lambda c: (f"/api/v1/org/tokens/{_token(c).id}", None),
}

# POST routes that compute and change nothing (they take a body too large or structured for a query string).
READ_ONLY = {
    ("POST", "/api/v1/calendar/add-working-time"),
    ("POST", "/api/v1/calendar/working-time-between"),
    ("POST", "/api/v1/workflow/builder/preview"),
}
# Machine-reported facts with an append-only log of their own instead of audit rows: every CTI event is
# stored once in cc_call_event (tests/api/callcenter/test_cti.py counts them).
OWN_EVENT_LOG = {("POST", "/api/v1/callcenter/cti/events"), ("POST", "/api/v1/cti/{token}")}
MUTATING = sorted(
    {(m, p) for m, p, _ in ROUTES if m in {"POST", "PUT", "PATCH", "DELETE"}} - READ_ONLY - OWN_EVENT_LOG
)


def _cal_shift(c: Ctx) -> Shift:
    s = Shift(code=f"W{c.admin.id}", name="walk", start="09:00", end="18:00")
    c.session.add(s)
    c.session.flush()
    return s


def _cal_override(c: Ctx) -> date:
    r = HolidayOverride(day=date(2026, 3, 2), workday=False)
    c.session.add(r)
    c.session.flush()
    return r.day


def _cal_entry(c: Ctx) -> RosterEntry:
    e = RosterEntry(user_id=c.admin.id, day=date(2026, 3, 2), shift_id=_cal_shift(c).id)
    c.session.add(e)
    c.session.flush()
    return e


def _cal_staffed(c: Ctx) -> int:
    d = c.factory.department()
    c.factory.user(department=d)
    return d.id


SCENARIOS.update(
    {
        ("PUT", "/api/v1/calendar/overrides/{day}"): lambda c: (
            "/api/v1/calendar/overrides/2026-03-02",
            {"workday": False},
        ),
        ("DELETE", "/api/v1/calendar/overrides/{day}"): lambda c: (
            f"/api/v1/calendar/overrides/{_cal_override(c)}",
            None,
        ),
        ("POST", "/api/v1/calendar/holidays"): lambda c: (
            "/api/v1/calendar/holidays",
            {"year": 2027, "holidays": [{"name": "walk", "start": "2027-01-01", "end": "2027-01-01"}]},
        ),
        ("PUT", "/api/v1/calendar/hours/{weekday}"): lambda c: (
            "/api/v1/calendar/hours/0",
            {"spans": [{"start": "08:00", "end": "17:00"}]},
        ),
        ("POST", "/api/v1/shifts"): lambda c: (
            "/api/v1/shifts",
            {"code": "WALK", "name": "walk", "start": "22:00", "end": "06:00"},
        ),
        ("PATCH", "/api/v1/shifts/{shift_id}"): lambda c: (
            f"/api/v1/shifts/{_cal_shift(c).id}",
            {"name": "renamed"},
        ),
        ("DELETE", "/api/v1/shifts/{shift_id}"): lambda c: (f"/api/v1/shifts/{_cal_shift(c).id}", None),
        ("POST", "/api/v1/roster/assign"): lambda c: (
            "/api/v1/roster/assign",
            {
                "user_ids": [c.admin.id],
                "shift_id": _cal_shift(c).id,
                "start": "2026-03-02",
                "end": "2026-03-03",
            },
        ),
        ("POST", "/api/v1/roster/clear"): lambda c: (
            "/api/v1/roster/clear",
            {"user_ids": [_cal_entry(c).user_id], "start": "2026-03-02", "end": "2026-03-02"},
        ),
        ("PUT", "/api/v1/roster/users/{user_id}/days/{day}"): lambda c: (
            f"/api/v1/roster/users/{c.admin.id}/days/2026-03-02",
            {"shift_ids": [_cal_shift(c).id]},
        ),
        ("POST", "/api/v1/roster/copy-week"): lambda c: (
            "/api/v1/roster/copy-week",
            {"department_id": _cal_staffed(c), "source_start": "2026-03-02", "target_start": "2026-03-09"},
        ),
    }
)


APPROVAL_BPMN = (Path(__file__).parent / "flows" / "approval.bpmn").read_text()


def _flow(c: Ctx, *, publish: bool = False) -> FlowTemplate:
    from kefu.workflow import flows

    xml = (Path(__file__).parent / "flows" / "approval.bpmn").read_text()
    template = flows.create_template(
        c.session, actor=c.factory.actor(c.admin), code=f"walk{c.admin.id}", name="walk", bpmn_xml=xml
    )
    if publish:
        flows.publish(c.session, actor=c.factory.actor(c.admin), version=template.versions[0])
    c.session.flush()
    return template


SCENARIOS.update(
    {
        ("POST", "/api/v1/workflow/templates"): lambda c: (
            "/api/v1/workflow/templates",
            {
                "code": "walk",
                "name": "walk",
                "bpmn_xml": (Path(__file__).parent / "flows" / "approval.bpmn").read_text(),
            },
        ),
        ("PATCH", "/api/v1/workflow/templates/{template_id}"): lambda c: (
            f"/api/v1/workflow/templates/{_flow(c).id}",
            {"name": "renamed"},
        ),
        ("PUT", "/api/v1/workflow/templates/{template_id}/draft"): lambda c: (
            lambda t: (f"/api/v1/workflow/templates/{t.id}/draft", {"bpmn_xml": t.versions[0].bpmn_xml})
        )(_flow(c)),
        ("POST", "/api/v1/workflow/versions/{version_id}/publish"): lambda c: (
            f"/api/v1/workflow/versions/{_flow(c).versions[0].id}/publish",
            None,
        ),
        ("POST", "/api/v1/workflow/versions/{version_id}/retire"): lambda c: (
            f"/api/v1/workflow/versions/{_flow(c, publish=True).versions[0].id}/retire",
            None,
        ),
        ("POST", "/api/v1/workflow/builder/templates"): lambda c: (
            "/api/v1/workflow/builder/templates",
            {
                "code": "walk_builder",
                "name": "walk",
                "nodes": [{"id": "a", "name": "A", "assign": [{"kind": "initiator"}]}],
            },
        ),
        ("DELETE", "/api/v1/workflow/versions/{version_id}"): lambda c: (
            f"/api/v1/workflow/versions/{_flow(c).versions[0].id}",
            None,
        ),
    }
)


def _wf_task(c: Ctx, *, assigned: bool = False, grab: bool = False) -> Any:
    """The first task (register) of a started approval flow; assigned to the admin, or a grab task."""
    from kefu.workflow.runtime import service as runtime

    actor = c.factory.actor(c.admin)
    version = _flow(c, publish=True).versions[0]
    instance = runtime.start_instance(
        c.session, version=version, subject_type="walk", subject_id=1, data={}, actor=actor
    )
    task = instance.tasks[0]
    if assigned:
        runtime.assign_task(c.session, task=task, user_id=c.admin.id, comment="", actor=actor)
    task.dispatch = "grab" if grab else task.dispatch
    c.session.flush()
    return task


def _wf_reassigned(c: Ctx) -> Any:
    """A task someone else held before it was reassigned to the admin (so it can be handed back)."""
    from kefu.workflow.runtime import service as runtime

    actor = c.factory.actor(c.admin)
    task = _wf_task(c)
    runtime.assign_task(c.session, task=task, user_id=c.factory.user().id, comment="", actor=actor)
    runtime.assign_task(c.session, task=task, user_id=c.admin.id, comment="", actor=actor)
    c.session.flush()
    return task


def _wf_passed(c: Ctx, *, suspended: bool = False) -> int:
    """A flow past its register node (so it can return there); optionally suspended."""
    from kefu.workflow.runtime import service as runtime

    actor = c.factory.actor(c.admin)
    task = _wf_task(c, assigned=True)
    runtime.complete_task(c.session, task=task, state="done", comment="", data={}, actor=actor)
    if suspended:
        runtime.suspend_instance(c.session, instance=task.instance, comment="", actor=actor)
    c.session.flush()
    return task.instance_id


SCENARIOS.update(
    {
        ("POST", "/api/v1/workflow/instances"): lambda c: (
            "/api/v1/workflow/instances",
            {"template_code": _flow(c, publish=True).code, "subject_type": "walk", "subject_id": 1},
        ),
        ("POST", "/api/v1/workflow/tasks/{task_id}/claim"): lambda c: (
            f"/api/v1/workflow/tasks/{_wf_task(c, grab=True).id}/claim",
            None,
        ),
        ("POST", "/api/v1/workflow/tasks/{task_id}/complete"): lambda c: (
            f"/api/v1/workflow/tasks/{_wf_task(c, assigned=True).id}/complete",
            {"comment": "walk"},
        ),
        ("POST", "/api/v1/workflow/tasks/{task_id}/assign"): lambda c: (
            f"/api/v1/workflow/tasks/{_wf_task(c).id}/assign",
            {"user_id": c.admin.id},
        ),
        ("POST", "/api/v1/workflow/tasks/{task_id}/transfer"): lambda c: (
            f"/api/v1/workflow/tasks/{_wf_task(c, assigned=True).id}/transfer",
            {"user_id": c.factory.user().id, "comment": "walk"},
        ),
        ("POST", "/api/v1/workflow/tasks/{task_id}/hand-back"): lambda c: (
            f"/api/v1/workflow/tasks/{_wf_reassigned(c).id}/hand-back",
            {"comment": "walk"},
        ),
        ("POST", "/api/v1/workflow/instances/{instance_id}/return"): lambda c: (
            f"/api/v1/workflow/instances/{_wf_passed(c)}/return",
            {"node_id": "register"},
        ),
        ("POST", "/api/v1/workflow/instances/{instance_id}/suspend"): lambda c: (
            f"/api/v1/workflow/instances/{_wf_passed(c)}/suspend",
            {},
        ),
        ("POST", "/api/v1/workflow/instances/{instance_id}/resume"): lambda c: (
            f"/api/v1/workflow/instances/{_wf_passed(c, suspended=True)}/resume",
            {},
        ),
        ("POST", "/api/v1/workflow/instances/{instance_id}/cancel"): lambda c: (
            f"/api/v1/workflow/instances/{_wf_passed(c)}/cancel",
            {},
        ),
    }
)


def _cb_ticket(c: Ctx) -> Any:
    """A closed ticket (as a row) of a type on a fresh flow template."""
    from kefu.core import clock
    from kefu.tickets.models import Ticket, TicketStatus, TicketType

    ticket_type = TicketType(
        code=f"walkcb{c.admin.id}", name="walk", prefix="WK", flow_template_id=_flow(c).id
    )
    c.session.add(ticket_type)
    c.session.flush()
    ticket = Ticket(
        serial=f"WK-{c.admin.id}",
        type_id=ticket_type.id,
        channel="phone",
        subject="walk",
        status=TicketStatus.CLOSED,
        closed_at=clock.now(),
    )
    c.session.add(ticket)
    c.session.flush()
    return ticket


def _cb_task(c: Ctx, status: str = "pending") -> Any:
    """A callback of a closed ticket assigned to the admin (the satisfaction dictionaries seeded)."""
    from kefu.org.config.dictionary import seed_defaults
    from kefu.tickets.models import CallbackStatus, CallbackTask

    seed_defaults(c.session)
    task = CallbackTask(
        ticket=_cb_ticket(c),
        assignee_id=c.admin.id,
        assigned_by_id=c.admin.id,
        status=CallbackStatus(status),
    )
    c.session.add(task)
    c.session.flush()
    return task


SCENARIOS.update(
    {
        ("POST", "/api/v1/tickets/callbacks/assign"): lambda c: (
            "/api/v1/tickets/callbacks/assign",
            {"ticket_ids": [_cb_ticket(c).id], "assignee_ids": [c.admin.id]},
        ),
        ("POST", "/api/v1/tickets/callbacks/{task_id}/result"): lambda c: (
            lambda t: (
                f"/api/v1/tickets/callbacks/{t.id}/result",
                {"reached": True, "satisfaction": "satisfied", "version": t.lock_version},
            )
        )(_cb_task(c)),
        ("POST", "/api/v1/tickets/callbacks/{task_id}/retry"): lambda c: (
            f"/api/v1/tickets/callbacks/{_cb_task(c, 'unreached').id}/retry",
            {},
        ),
        ("POST", "/api/v1/tickets/callbacks/{task_id}/reassign"): lambda c: (
            f"/api/v1/tickets/callbacks/{_cb_task(c).id}/reassign",
            {"assignee_id": c.factory.user(["tickets.callback.handle"]).id},
        ),
        ("POST", "/api/v1/tickets/callbacks/{task_id}/cancel"): lambda c: (
            f"/api/v1/tickets/callbacks/{_cb_task(c).id}/cancel",
            {},
        ),
    }
)


def _ts_category(c: Ctx) -> Any:
    from kefu.tickets.models import BusinessCategory

    category = BusinessCategory(code=f"walk{c.admin.id}", name="walk")
    c.session.add(category)
    c.session.flush()
    category.path = f"/{category.id}/"
    c.session.flush()
    return category


def _ts_form(c: Ctx) -> Any:
    from kefu.tickets.models import FormTemplate

    form = FormTemplate(code=f"walk{c.admin.id}", name="walk", elements=[])
    c.session.add(form)
    c.session.flush()
    return form


def _ts_type(c: Ctx) -> Any:
    """A ticket type on a published flow (the urgency dictionary seeded for its default priority)."""
    from kefu.org.config.dictionary import seed_defaults
    from kefu.tickets.models import TicketType

    seed_defaults(c.session)
    ticket_type = TicketType(
        code=f"walkts{c.admin.id}", name="walk", prefix="WTS", flow_template_id=_flow(c, publish=True).id
    )
    c.session.add(ticket_type)
    c.session.flush()
    return ticket_type


def _ts_case(c: Ctx) -> Any:
    from kefu.tickets.models import CaseTemplate

    case = CaseTemplate(code=f"walk{c.admin.id}", name="walk", type_id=_ts_type(c).id)
    c.session.add(case)
    c.session.flush()
    return case


SETUP_API = "/api/v1/tickets/setup"
SCENARIOS.update(
    {
        ("POST", f"{SETUP_API}/categories"): lambda c: (
            f"{SETUP_API}/categories",
            {"code": "walk", "name": "walk"},
        ),
        ("PATCH", f"{SETUP_API}/categories/{{category_id}}"): lambda c: (
            f"{SETUP_API}/categories/{_ts_category(c).id}",
            {"name": "renamed"},
        ),
        ("DELETE", f"{SETUP_API}/categories/{{category_id}}"): lambda c: (
            f"{SETUP_API}/categories/{_ts_category(c).id}",
            None,
        ),
        ("POST", f"{SETUP_API}/form-templates"): lambda c: (
            f"{SETUP_API}/form-templates",
            {"code": "walk", "name": "walk", "elements": [{"code": "a", "label": "A", "type": "text"}]},
        ),
        ("PATCH", f"{SETUP_API}/form-templates/{{template_id}}"): lambda c: (
            f"{SETUP_API}/form-templates/{_ts_form(c).id}",
            {"name": "renamed", "version": 1},
        ),
        ("DELETE", f"{SETUP_API}/form-templates/{{template_id}}"): lambda c: (
            f"{SETUP_API}/form-templates/{_ts_form(c).id}",
            None,
        ),
        ("POST", f"{SETUP_API}/types"): lambda c: (
            lambda flow_id: (
                f"{SETUP_API}/types",
                {"code": "walk", "name": "walk", "prefix": "WALK", "flow_template_id": flow_id},
            )
        )(_ts_type(c).flow_template_id),
        ("PATCH", f"{SETUP_API}/types/{{type_id}}"): lambda c: (
            f"{SETUP_API}/types/{_ts_type(c).id}",
            {"name": "renamed", "limit": "P2D"},
        ),
        ("DELETE", f"{SETUP_API}/types/{{type_id}}"): lambda c: (f"{SETUP_API}/types/{_ts_type(c).id}", None),
        ("POST", f"{SETUP_API}/case-templates"): lambda c: (
            f"{SETUP_API}/case-templates",
            {"code": "walk", "name": "walk", "type_id": _ts_type(c).id, "subject": "walk"},
        ),
        ("PATCH", f"{SETUP_API}/case-templates/{{case_id}}"): lambda c: (
            f"{SETUP_API}/case-templates/{_ts_case(c).id}",
            {"subject": "renamed"},
        ),
        ("DELETE", f"{SETUP_API}/case-templates/{{case_id}}"): lambda c: (
            f"{SETUP_API}/case-templates/{_ts_case(c).id}",
            None,
        ),
    }
)


def _tk(c: Ctx, *, closed: bool = False, suspended: bool = False, handed: bool = False) -> Any:
    """A ticket on the standard flow with the admin as handler, reviewer (supervisor) and registrar."""
    from kefu.org.config.dictionary import seed_defaults
    from kefu.tickets import presets
    from kefu.tickets import service as tickets

    seed_defaults(c.session)
    dept = c.factory.department()
    dept.supervisor_id = c.admin.id
    c.admin.department_id = dept.id
    c.session.flush()
    actor = c.factory.actor(c.admin)
    ticket_type = presets.standard_type(c.session, actor=actor, department_id=dept.id)
    ticket = tickets.register(
        c.session, actor=actor, ticket_type=ticket_type, channel="phone", subject="walk"
    )
    if handed:
        other = c.factory.user(["tickets.ticket.handle"], department=dept)
        task = tickets.active_tasks(c.session, ticket)[0]
        from kefu.workflow.runtime import service as runtime

        runtime.assign_task(c.session, task=task, user_id=other.id, comment="", actor=actor)
        runtime.assign_task(c.session, task=task, user_id=c.admin.id, comment="", actor=actor)
    if closed:
        for state in ("complete", "pass", "close"):
            tickets.complete(
                c.session, actor=actor, ticket=ticket, expected_version=None, state=state, comment=""
            )
    if suspended:
        tickets.suspend(c.session, actor=actor, ticket=ticket, expected_version=None, comment="walk")
    c.session.flush()
    return ticket


def _tk_tracked(c: Ctx) -> Any:
    from kefu.tickets import tracking

    ticket = _tk(c)
    tracking.track(c.session, actor=c.factory.actor(c.admin), ticket=ticket)
    c.session.flush()
    return ticket


def _tk_action(action: str, body: dict[str, Any], **kw: Any) -> Scenario:
    return lambda c: (lambda t: (f"/api/v1/tickets/{t.id}/{action}", body))(_tk(c, **kw))


SCENARIOS.update(
    {
        ("POST", "/api/v1/tickets"): lambda c: (
            "/api/v1/tickets",
            {"type_id": _tk(c).type_id, "channel": "phone", "subject": "walk"},
        ),
        ("POST", "/api/v1/tickets/attachments"): lambda c: (
            "/api/v1/tickets/attachments",
            {"__files__": {"file": ("walk.txt", b"walk", "text/plain")}, "ticket_id": str(_tk(c).id)},
        ),
        ("POST", "/api/v1/tickets/{ticket_id}/accept"): _tk_action("accept", {}),
        ("POST", "/api/v1/tickets/{ticket_id}/reply"): _tk_action("reply", {"comment": "walk"}),
        ("POST", "/api/v1/tickets/{ticket_id}/complete"): _tk_action("complete", {"state": "complete"}),
        ("POST", "/api/v1/tickets/{ticket_id}/transfer"): lambda c: (
            lambda t: (
                f"/api/v1/tickets/{t.id}/transfer",
                {"department_id": c.factory.department().id, "comment": "w"},
            )
        )(_tk(c)),
        ("POST", "/api/v1/tickets/{ticket_id}/hand-back"): _tk_action(
            "hand-back", {"comment": "w"}, handed=True
        ),
        ("POST", "/api/v1/tickets/{ticket_id}/dispatch"): lambda c: (
            lambda t: (
                f"/api/v1/tickets/{t.id}/dispatch",
                {"task_id": _first_task(c, t), "user_id": c.factory.user().id},
            )
        )(_tk(c)),
        ("POST", "/api/v1/tickets/{ticket_id}/suspend"): _tk_action("suspend", {"comment": "w"}),
        ("POST", "/api/v1/tickets/{ticket_id}/resume"): _tk_action(
            "resume", {"comment": "w"}, suspended=True
        ),
        ("POST", "/api/v1/tickets/{ticket_id}/cancel"): _tk_action("cancel", {"comment": "w"}),
        ("POST", "/api/v1/tickets/{ticket_id}/reopen"): _tk_action("reopen", {"comment": "w"}, closed=True),
        ("POST", "/api/v1/tickets/{ticket_id}/urge"): _tk_action("urge", {"comment": "w"}),
        ("POST", "/api/v1/tickets/{ticket_id}/track"): _tk_action("track", {}),
        ("POST", "/api/v1/tickets/{ticket_id}/follow-up"): lambda c: (
            lambda t: (f"/api/v1/tickets/{t.id}/follow-up", {"note": "w", "result": "continue"})
        )(_tk_tracked(c)),
        ("POST", "/api/v1/tickets/{ticket_id}/email"): lambda c: (
            _email_gateway(c),
            (f"/api/v1/tickets/{_tk(c).id}/email", {"body": "walk", "to": "walk@example.com"}),
        )[1],
    }
)


def _email_gateway(c: Ctx) -> None:
    from kefu.messaging.models import Channel, Gateway, Implementation

    gateway = Gateway(channel=Channel.EMAIL, implementation=Implementation.LOG, from_address="s@example.com")
    c.session.add(gateway)
    c.session.flush()


def _ann(c: Ctx, *, publish: bool = False, file: bool = False) -> Any:
    """An announcement to everyone by the admin: a draft, or published (the admin among the unread)."""
    from kefu.notices import announcement_files, announcements
    from kefu.notices.announcement_audience import Audience

    actor = c.factory.actor(c.admin)
    a = announcements.create(
        c.session,
        actor=actor,
        draft=announcements.Draft(title="walk", body="<p>walk</p>", audience=Audience(all=True)),
    )
    if file:
        import io

        announcement_files.attach(
            c.session,
            actor=actor,
            announcement=a,
            filename="w.txt",
            content_type="text/plain",
            stream=io.BytesIO(b"w"),
        )
    if publish:
        announcements.publish(c.session, actor=actor, announcement=a)
    c.session.flush()
    return a


ANN = "/api/v1/announcements"
SCENARIOS.update(
    {
        ("POST", f"{ANN}/manage"): lambda c: (
            f"{ANN}/manage",
            {"title": "walk", "body": "<p>walk</p>", "audience_all": True, "publish": True},
        ),
        ("PUT", f"{ANN}/manage/{{announcement_id}}"): lambda c: (
            f"{ANN}/manage/{_ann(c).id}",
            {"title": "walk 2", "body": "<p>walk</p>", "audience_all": True},
        ),
        ("DELETE", f"{ANN}/manage/{{announcement_id}}"): lambda c: (f"{ANN}/manage/{_ann(c).id}", None),
        ("POST", f"{ANN}/manage/{{announcement_id}}/publish"): lambda c: (
            f"{ANN}/manage/{_ann(c).id}/publish",
            None,
        ),
        ("POST", f"{ANN}/manage/{{announcement_id}}/withdraw"): lambda c: (
            f"{ANN}/manage/{_ann(c, publish=True).id}/withdraw",
            {"reason": "walk"},
        ),
        ("POST", f"{ANN}/manage/{{announcement_id}}/remind"): lambda c: (
            f"{ANN}/manage/{_ann(c, publish=True).id}/remind",
            None,
        ),
        ("POST", f"{ANN}/manage/{{announcement_id}}/attachments"): lambda c: (
            f"{ANN}/manage/{_ann(c).id}/attachments",
            {"__files__": {"file": ("walk.txt", b"walk", "text/plain")}},
        ),
        ("DELETE", f"{ANN}/manage/{{announcement_id}}/attachments/{{attachment_id}}"): lambda c: (
            lambda a: (f"{ANN}/manage/{a.id}/attachments/{a.attachments[0].id}", None)
        )(_ann(c, file=True)),
        ("POST", f"{ANN}/{{announcement_id}}/read"): lambda c: (
            f"{ANN}/{_ann(c, publish=True).id}/read",
            None,
        ),
    }
)


def _first_task(c: Ctx, ticket: Any) -> int:
    from kefu.tickets import service as tickets

    return tickets.active_tasks(c.session, ticket)[0].id


def _kb_category(c: Ctx, *, manual: bool = False) -> Any:
    from kefu.knowledge.models import KnowledgeCategory, PublishMode

    category = KnowledgeCategory(name="walk", publish_mode=PublishMode.MANUAL if manual else PublishMode.AUTO)
    c.session.add(category)
    c.session.flush()
    category.path = f"/{category.id}/"
    c.session.flush()
    return category


def _kb_article(c: Ctx, state: str = "draft") -> Any:
    """An article written by another author, taken to `state`: draft, pending, approved (waiting to be
    published by hand), published."""
    from kefu.knowledge import articles, lifecycle

    author = c.factory.actor(c.factory.user(["knowledge.article.edit"]))
    reviewer = c.factory.actor(c.factory.user(["knowledge.article.review"]))
    category = _kb_category(c, manual=state == "approved")
    article = articles.create_article(
        c.session,
        actor=author,
        category_id=category.id,
        title="walk",
        body_html="<p>walk</p>",
        audience="public",
    )
    if state != "draft":
        lifecycle.submit(c.session, actor=author, article=article, expected_version=None)
    if state in ("approved", "published"):
        lifecycle.approve(c.session, actor=reviewer, article=article, expected_version=None)
    c.session.flush()
    return article


def _kb_question(c: Ctx, *, answered: bool = False) -> Any:
    from kefu.knowledge.qa import service as qa

    question = qa.ask(c.session, actor=c.factory.actor(c.admin), title="walk?")
    if answered:
        qa.answer(
            c.session, actor=c.factory.actor(c.admin), question=question, expected_version=None, text="walk"
        )
    c.session.flush()
    return question


def _kb_action(action: str, state: str, body: dict[str, Any] | None = None) -> Scenario:
    return lambda c: (lambda a: (f"/api/v1/knowledge/articles/{a.id}/{action}", body or {}))(
        _kb_article(c, state)
    )


KB_API = "/api/v1/knowledge"
SCENARIOS.update(
    {
        ("POST", f"{KB_API}/categories"): lambda c: (f"{KB_API}/categories", {"name": "walk"}),
        ("PATCH", f"{KB_API}/categories/{{category_id}}"): lambda c: (
            f"{KB_API}/categories/{_kb_category(c).id}",
            {"name": "renamed", "publish_mode": "manual"},
        ),
        ("DELETE", f"{KB_API}/categories/{{category_id}}"): lambda c: (
            f"{KB_API}/categories/{_kb_category(c).id}",
            None,
        ),
        ("POST", f"{KB_API}/articles"): lambda c: (
            f"{KB_API}/articles",
            {"category_id": _kb_category(c).id, "title": "walk", "body_html": "<p>walk</p>"},
        ),
        ("PATCH", f"{KB_API}/articles/{{article_id}}/draft"): lambda c: (
            f"{KB_API}/articles/{_kb_article(c).id}/draft",
            {"title": "renamed"},
        ),
        ("DELETE", f"{KB_API}/articles/{{article_id}}/draft"): lambda c: (
            f"{KB_API}/articles/{_kb_article(c).id}/draft",
            None,
        ),
        ("POST", f"{KB_API}/articles/{{article_id}}/submit"): _kb_action("submit", "draft"),
        ("POST", f"{KB_API}/articles/{{article_id}}/withdraw"): _kb_action("withdraw", "pending"),
        ("POST", f"{KB_API}/articles/{{article_id}}/approve"): _kb_action("approve", "pending"),
        ("POST", f"{KB_API}/articles/{{article_id}}/reject"): _kb_action(
            "reject", "pending", {"comment": "w"}
        ),
        ("POST", f"{KB_API}/articles/{{article_id}}/publish"): _kb_action("publish", "approved"),
        ("POST", f"{KB_API}/articles/{{article_id}}/archive"): _kb_action("archive", "published"),
        ("POST", f"{KB_API}/articles/{{article_id}}/revoke"): _kb_action(
            "revoke", "published", {"comment": "w"}
        ),
        ("POST", f"{KB_API}/articles/{{article_id}}/hot"): _kb_action("hot", "published", {"hot": True}),
        ("POST", f"{KB_API}/articles/{{article_id}}/move"): lambda c: (
            f"{KB_API}/articles/{_kb_article(c).id}/move",
            {"category_id": _kb_category(c).id},
        ),
        ("POST", f"{KB_API}/attachments"): lambda c: (
            f"{KB_API}/attachments",
            {"__files__": {"file": ("walk.txt", b"walk", "text/plain")}},
        ),
        ("POST", f"{KB_API}/published/{{article_id}}/send"): lambda c: (
            _msg_gateways(c),
            (
                f"{KB_API}/published/{_kb_article(c, 'published').id}/send",
                {"channel": "sms", "to": "13800138000"},
            ),
        )[1],
        ("POST", f"{KB_API}/questions"): lambda c: (f"{KB_API}/questions", {"title": "walk?"}),
        ("PATCH", f"{KB_API}/questions/{{question_id}}"): lambda c: (
            f"{KB_API}/questions/{_kb_question(c).id}",
            {"title": "walk again?"},
        ),
        ("DELETE", f"{KB_API}/questions/{{question_id}}"): lambda c: (
            f"{KB_API}/questions/{_kb_question(c).id}",
            None,
        ),
        ("POST", f"{KB_API}/questions/{{question_id}}/answer"): lambda c: (
            f"{KB_API}/questions/{_kb_question(c).id}/answer",
            {"answer": "walk"},
        ),
        ("POST", f"{KB_API}/questions/{{question_id}}/faq"): lambda c: (
            f"{KB_API}/questions/{_kb_question(c, answered=True).id}/faq",
            {"faq": True},
        ),
        ("POST", f"{KB_API}/questions/{{question_id}}/article"): lambda c: (
            f"{KB_API}/questions/{_kb_question(c, answered=True).id}/article",
            {"category_id": _kb_category(c).id},
        ),
    }
)


def _crm_customer(c: Ctx, **data: Any) -> Any:
    """A customer registered by the admin, with the dictionaries and subscriber kinds seeded."""
    from kefu.customers import presets
    from kefu.customers import service as customers
    from kefu.org.config.dictionary import seed_defaults

    seed_defaults(c.session)
    presets.seed_default_kinds(c.session)
    customer = customers.create(
        c.session,
        actor=c.factory.actor(c.admin),
        data={"name": "巡检客户", "phones": [{"number": "13800138000"}], **data},
    )
    c.session.flush()
    return customer


def _crm_account(c: Ctx) -> Any:
    from kefu.customers import subscribers

    customer = _crm_customer(c)
    return subscribers.add_account(
        c.session, actor=c.factory.actor(c.admin), customer=customer, data={"account_no": "WALK1"}
    )


def _crm_subscriber(c: Ctx) -> Any:
    from kefu.customers import subscribers

    customer = _crm_customer(c)
    return subscribers.add_subscriber(
        c.session,
        actor=c.factory.actor(c.admin),
        customer=customer,
        data={"kind": "broadband", "service_number": "WALK0001"},
    )


def _crm_kind(c: Ctx, *, with_attribute: bool = False) -> Any:
    from kefu.customers import kinds

    actor = c.factory.actor(c.admin)
    kind = kinds.create_kind(c.session, actor=actor, code=f"walk{c.admin.id}", name="巡检")
    if with_attribute:
        kinds.add_attribute(c.session, actor=actor, kind=kind, code="meter_no", label="表号")
    c.session.flush()
    return kind


def _crm_contact(c: Ctx) -> Any:
    from kefu.customers.contacts import service as contacts

    customer = _crm_customer(c)
    return contacts.record_contact(
        c.session, c.factory.actor(c.admin), customer_id=customer.id, channel="phone", direction="inbound"
    )


SCENARIOS.update(
    {
        ("POST", "/api/v1/customers"): lambda c: (
            "/api/v1/customers",
            {"name": "张三", "phones": [{"number": "13800138000"}]},
        ),
        ("PATCH", "/api/v1/customers/{customer_id}"): lambda c: (
            lambda cu: (f"/api/v1/customers/{cu.id}", {"version": cu.lock_version, "name": "张三丰"})
        )(_crm_customer(c)),
        ("POST", "/api/v1/customers/{customer_id}/status"): lambda c: (
            lambda cu: (f"/api/v1/customers/{cu.id}/status", {"version": cu.lock_version, "status": "closed"})
        )(_crm_customer(c)),
        ("DELETE", "/api/v1/customers/{customer_id}"): lambda c: (
            f"/api/v1/customers/{_crm_customer(c).id}",
            None,
        ),
        ("POST", "/api/v1/customers/{customer_id}/accounts"): lambda c: (
            f"/api/v1/customers/{_crm_customer(c).id}/accounts",
            {"account_no": "WALK2"},
        ),
        ("PATCH", "/api/v1/customers/{customer_id}/accounts/{account_id}"): lambda c: (
            lambda a: (f"/api/v1/customers/{a.customer_id}/accounts/{a.id}", {"bank_name": "建设银行"})
        )(_crm_account(c)),
        ("DELETE", "/api/v1/customers/{customer_id}/accounts/{account_id}"): lambda c: (
            lambda a: (f"/api/v1/customers/{a.customer_id}/accounts/{a.id}", None)
        )(_crm_account(c)),
        ("POST", "/api/v1/customers/{customer_id}/subscribers"): lambda c: (
            f"/api/v1/customers/{_crm_customer(c).id}/subscribers",
            {"kind": "broadband", "service_number": "WALK0002"},
        ),
        ("PATCH", "/api/v1/customers/{customer_id}/subscribers/{subscriber_id}"): lambda c: (
            lambda s: (
                f"/api/v1/customers/{s.customer_id}/subscribers/{s.id}",
                {"version": s.lock_version, "product": "千兆"},
            )
        )(_crm_subscriber(c)),
        ("DELETE", "/api/v1/customers/{customer_id}/subscribers/{subscriber_id}"): lambda c: (
            lambda s: (f"/api/v1/customers/{s.customer_id}/subscribers/{s.id}", None)
        )(_crm_subscriber(c)),
        ("POST", "/api/v1/customers/contacts"): lambda c: (
            "/api/v1/customers/contacts",
            {
                "customer_id": _crm_customer(c).id,
                "channel": "phone",
                "direction": "inbound",
                "summary": "巡检",
            },
        ),
        ("POST", "/api/v1/customers/contacts/{record_id}/tickets"): lambda c: (
            f"/api/v1/customers/contacts/{_crm_contact(c).id}/tickets",
            {"ticket_ids": [_cb_ticket(c).id]},
        ),
        ("POST", "/api/v1/customers/kinds"): lambda c: (
            "/api/v1/customers/kinds",
            {"code": "walk", "name": "巡检"},
        ),
        ("PATCH", "/api/v1/customers/kinds/{code}"): lambda c: (
            f"/api/v1/customers/kinds/{_crm_kind(c).code}",
            {"name": "改名"},
        ),
        ("DELETE", "/api/v1/customers/kinds/{code}"): lambda c: (
            f"/api/v1/customers/kinds/{_crm_kind(c).code}",
            None,
        ),
        ("POST", "/api/v1/customers/kinds/{code}/attributes"): lambda c: (
            f"/api/v1/customers/kinds/{_crm_kind(c).code}/attributes",
            {"code": "meter_no", "label": "表号"},
        ),
        ("PATCH", "/api/v1/customers/kinds/{code}/attributes/{attribute_id}"): lambda c: (
            lambda k: (
                f"/api/v1/customers/kinds/{k.code}/attributes/{k.attributes[0].id}",
                {"label": "水表号"},
            )
        )(_crm_kind(c, with_attribute=True)),
        ("DELETE", "/api/v1/customers/kinds/{code}/attributes/{attribute_id}"): lambda c: (
            lambda k: (f"/api/v1/customers/kinds/{k.code}/attributes/{k.attributes[0].id}", None)
        )(_crm_kind(c, with_attribute=True)),
        ("PUT", "/api/v1/customers/business-systems/{kind}"): lambda c: (
            "/api/v1/customers/business-systems/billing",
            {"implementation": "demo"},
        ),
        ("POST", "/api/v1/customers/business-systems/{kind}/probe"): lambda c: (
            "/api/v1/customers/business-systems/billing/probe",
            None,
        ),
    }
)


def _search_word(c: Ctx) -> int:
    from kefu.core.search.models import SearchWord

    word = SearchWord(word=f"walk{c.admin.id}", pos="", enabled=True, note="")
    c.session.add(word)
    c.session.flush()
    return word.id


SCENARIOS.update(
    {
        ("POST", "/api/v1/search/dictionary"): lambda c: ("/api/v1/search/dictionary", {"word": "漏损"}),
        ("PATCH", "/api/v1/search/dictionary/{word_id}"): lambda c: (
            f"/api/v1/search/dictionary/{_search_word(c)}",
            {"enabled": False},
        ),
        ("DELETE", "/api/v1/search/dictionary/{word_id}"): lambda c: (
            f"/api/v1/search/dictionary/{_search_word(c)}",
            None,
        ),
        ("POST", "/api/v1/search/dictionary/reindex"): lambda c: ("/api/v1/search/dictionary/reindex", None),
    }
)


def _cc_agent(c: Ctx, state: str = "ready", user: User | None = None, extension: str = "") -> Any:
    """`user` (default: the admin) logged in to a queue of their own, in `state`."""
    from kefu.callcenter import agents
    from kefu.callcenter.models import AgentState, CallQueue, QueueMember
    from kefu.org.config.dictionary import seed_defaults

    seed_defaults(c.session)
    user = user or c.admin
    queue = CallQueue(code=f"walk{user.id}", name="walk")
    c.session.add(queue)
    c.session.flush()
    c.session.add(QueueMember(queue_id=queue.id, user_id=user.id))
    agent = agents.get(c.session, user.id)
    agent.extension, agent.queue_ids = extension or f"9{user.id}", [queue.id]
    agents.enter(c.session, agent, AgentState(state))
    c.session.flush()
    return queue


def _cc_call(c: Ctx, *, answered: bool, held: bool = False) -> int:
    """A call ringing at (or answered by) the admin, reported by the simulated PBX."""
    import secrets

    from kefu.callcenter import cti
    from kefu.core import clock

    _cc_agent(c)
    call_id = "walk-" + secrets.token_hex(4)
    kinds = [(cti.Kind.NEW_CALL, {"from_number": "13800138000", "offered_to": (c.admin.id,)})]
    if answered:
        kinds.append((cti.Kind.ANSWER, {"agent_id": c.admin.id}))
    if held:
        kinds.append((cti.Kind.HOLD, {"agent_id": c.admin.id}))
    for kind, facts in kinds:
        event = cti.CtiEvent(
            kind=kind, call_id=call_id, occurred_at=clock.now(), event_id=kind.value, **facts
        )
        call = cti.ingest(c.session, event, source="walk").call
    c.session.flush()
    return call.id


def _cc_colleague(c: Ctx) -> int:
    other = c.factory.user(["callcenter.agent.use"])
    _cc_agent(c, "ready", user=other)
    return other.id


CC = "/api/v1/callcenter"
SCENARIOS.update(
    {
        ("POST", f"{CC}/agent/login"): lambda c: (
            f"{CC}/agent/login",
            {"extension": "9000", "queue_ids": [_cc_agent(c, "ready", extension="9999").id]},
        ),
        ("POST", f"{CC}/agent/ready"): lambda c: (_cc_agent(c, "not_ready"), (f"{CC}/agent/ready", None))[1],
        ("POST", f"{CC}/agent/not-ready"): lambda c: (
            _cc_agent(c, "ready"),
            (f"{CC}/agent/not-ready", {"reason": "meal"}),
        )[1],
        ("POST", f"{CC}/agent/logout"): lambda c: (_cc_agent(c, "ready"), (f"{CC}/agent/logout", None))[1],
        ("POST", f"{CC}/calls/{{call_pk}}/answer"): lambda c: (
            f"{CC}/calls/{_cc_call(c, answered=False)}/answer",
            None,
        ),
        ("POST", f"{CC}/calls/{{call_pk}}/hangup"): lambda c: (
            f"{CC}/calls/{_cc_call(c, answered=True)}/hangup",
            None,
        ),
        ("POST", f"{CC}/calls/{{call_pk}}/hold"): lambda c: (
            f"{CC}/calls/{_cc_call(c, answered=True)}/hold",
            None,
        ),
        ("POST", f"{CC}/calls/{{call_pk}}/unhold"): lambda c: (
            f"{CC}/calls/{_cc_call(c, answered=True, held=True)}/unhold",
            None,
        ),
        ("POST", f"{CC}/calls/{{call_pk}}/transfer"): lambda c: (
            f"{CC}/calls/{_cc_call(c, answered=True)}/transfer",
            {"to_agent_id": _cc_colleague(c)},
        ),
        ("POST", f"{CC}/dial"): lambda c: (_cc_agent(c, "ready"), (f"{CC}/dial", {"number": "13800138000"}))[
            1
        ],
    }
)


def _msg_gateways(c: Ctx) -> None:
    from kefu.messaging.models import Channel, Gateway, Implementation

    for channel in Channel:
        c.session.add(Gateway(channel=channel, implementation=Implementation.LOG))
    c.session.flush()


def _msg_failed(c: Ctx) -> int:
    from kefu.messaging.models import Channel, Message, MessageStatus, Source

    _msg_gateways(c)
    row = Message(
        channel=Channel.SMS,
        recipient="138 0013 8000",
        recipient_key="+8613800138000",
        source=Source.MANUAL,
        body="walk",
        status=MessageStatus.FAILED,
        created_by_id=c.admin.id,
    )
    c.session.add(row)
    c.session.flush()
    return row.id


def _msg_template(c: Ctx) -> int:
    from kefu.messaging.models import Channel, MessageTemplate

    row = MessageTemplate(code=f"walk{c.admin.id}", name="walk", channel=Channel.SMS, body="您好")
    c.session.add(row)
    c.session.flush()
    return row.id


def _msg_dnd(c: Ctx) -> int:
    from kefu.messaging.models import DndEntry

    row = DndEntry(number_key="+8613900139000", number="139 0013 9000")
    c.session.add(row)
    c.session.flush()
    return row.id


def _msg_black(c: Ctx) -> int:
    from kefu.messaging.models import BlacklistEntry

    row = BlacklistEntry(number_key="+8613900139000", number="139 0013 9000", reason="walk")
    c.session.add(row)
    c.session.flush()
    return row.id


MSG = "/api/v1/messaging"
READ_ONLY |= {("POST", f"{MSG}/templates/preview")}
MUTATING = [r for r in MUTATING if r not in READ_ONLY]
SCENARIOS.update(
    {
        ("POST", f"{MSG}/messages"): lambda c: (
            _msg_gateways(c),
            (f"{MSG}/messages", {"channel": "sms", "to": "13800138000", "body": "您好"}),
        )[1],
        ("POST", f"{MSG}/messages/{{message_id}}/retry"): lambda c: (
            f"{MSG}/messages/{_msg_failed(c)}/retry",
            None,
        ),
        ("POST", f"{MSG}/templates"): lambda c: (
            f"{MSG}/templates",
            {"code": "walk", "name": "walk", "channel": "sms", "body": "{{ customer.name }}您好"},
        ),
        ("PUT", f"{MSG}/templates/{{template_id}}"): lambda c: (
            f"{MSG}/templates/{_msg_template(c)}",
            {"code": "walk2", "name": "walk", "channel": "sms", "body": "您好！"},
        ),
        ("DELETE", f"{MSG}/templates/{{template_id}}"): lambda c: (
            f"{MSG}/templates/{_msg_template(c)}",
            None,
        ),
        ("POST", f"{MSG}/dnd"): lambda c: (f"{MSG}/dnd", {"number": "13800138000", "reason": "walk"}),
        ("POST", f"{MSG}/dnd/import"): lambda c: (f"{MSG}/dnd/import", {"lines": "13800138000\n13900139000"}),
        ("DELETE", f"{MSG}/dnd/{{entry_id}}"): lambda c: (f"{MSG}/dnd/{_msg_dnd(c)}", None),
        ("POST", f"{MSG}/blacklist"): lambda c: (
            f"{MSG}/blacklist",
            {"number": "13800138000", "reason": "walk"},
        ),
        ("PUT", f"{MSG}/blacklist/{{entry_id}}"): lambda c: (
            f"{MSG}/blacklist/{_msg_black(c)}",
            {"level": "block", "reason": "again"},
        ),
        ("DELETE", f"{MSG}/blacklist/{{entry_id}}"): lambda c: (f"{MSG}/blacklist/{_msg_black(c)}", None),
        ("PUT", f"{MSG}/gateways/{{channel}}"): lambda c: (f"{MSG}/gateways/sms", {"implementation": "log"}),
        ("POST", f"{MSG}/gateways/{{channel}}/test"): lambda c: (
            _msg_gateways(c),
            (f"{MSG}/gateways/sms/test", {"to": "13800138000"}),
        )[1],
    }
)


def _msg_batch(c: Ctx, *, gateway_on: bool = False) -> int:
    """A draft proactive-service batch of a fee-notice SMS template."""
    from kefu.messaging.models import Batch, Channel, MessageTemplate, TemplateKind

    if gateway_on:
        _msg_gateways(c)
    template = MessageTemplate(
        code=f"walkfee{c.admin.id}",
        name="walk",
        channel=Channel.SMS,
        kind=TemplateKind.FEE_NOTICE,
        body="费用",
    )
    c.session.add(template)
    c.session.flush()
    batch = Batch(
        name="walk",
        kind=TemplateKind.FEE_NOTICE,
        channel=Channel.SMS,
        template_id=template.id,
        selection={"mode": "filter", "customer_ids": [0]},
        created_by_id=c.admin.id,
    )
    c.session.add(batch)
    c.session.flush()
    return batch.id


def _msg_batch_template(c: Ctx) -> int:
    from kefu.messaging.models import Batch

    return c.session.get(Batch, _msg_batch(c)).template_id


MSG_BATCHES = f"{MSG}/batches"
SCENARIOS.update(
    {
        ("POST", MSG_BATCHES): lambda c: (
            MSG_BATCHES,
            {"name": "walk", "kind": "fee_notice", "template_id": _msg_batch_template(c), "filter": {}},
        ),
        ("POST", f"{MSG_BATCHES}/{{batch_id}}/start"): lambda c: (
            f"{MSG_BATCHES}/{_msg_batch(c, gateway_on=True)}/start",
            None,
        ),
        ("POST", f"{MSG_BATCHES}/{{batch_id}}/cancel"): lambda c: (
            f"{MSG_BATCHES}/{_msg_batch(c)}/cancel",
            None,
        ),
    }
)


def test_every_mutating_route_has_a_scenario():
    missing = [r for r in MUTATING if r not in SCENARIOS]
    assert not missing, f"mutating routes without an audit scenario: {missing}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize at collection, once the whole module — every `SCENARIOS.update` — has run."""
    if metafunc.definition.name == "test_mutating_route_writes_audit":
        walked = [r for r in MUTATING if r in SCENARIOS]
        metafunc.parametrize(("method", "path"), walked, ids=[f"{m} {p}" for m, p in walked])


def test_mutating_route_writes_audit(client: TestClient, factory, session, method, path):
    admin = factory.user(admin=True)
    login = factory.token_login(admin)
    ctx = Ctx(factory=factory, session=session, admin=admin, headers=login.headers)
    ctx.factory_notify = lambda: _notify(session, admin)  # type: ignore[attr-defined]
    ctx.factory_empty_group = lambda: _empty_group(session)  # type: ignore[attr-defined]
    url, body = SCENARIOS[(method, path)](ctx)
    before = session.scalar(select(func.max(AuditLog.id))) or 0
    files = body.pop("__files__", None) if isinstance(body, dict) else None
    if files is not None:  # a multipart upload: the rest of the body are form fields
        r = client.request(method, url, data=body, files=files, headers=login.headers)
    else:
        r = client.request(method, url, json=body, headers=login.headers)
    assert r.status_code < 400, r.text
    new = session.scalars(select(AuditLog).where(AuditLog.id > before)).all()
    assert new, f"{method} {path} changed data without an audit record"
    assert all(a.correlation_id == r.headers["x-correlation-id"] for a in new)


def _notify(session, user):
    from kefu.notices.service import notify

    notify(session, user_ids=[user.id], title="walk")
    session.flush()


def _empty_group(session):
    group = UserGroup(code="empty", name="empty", functions=[])
    session.add(group)
    session.flush()
    return group


def test_no_audit_without_change_and_no_change_without_audit(client, factory, session, monkeypatch):
    h = factory.token_login(factory.user(admin=True)).headers
    original = audit_service.record

    def record_then_fail(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(audit_service, "record", record_then_fail)
    r = client.post("/api/v1/org/departments", json={"code": "ROLLBK", "name": "回滚"}, headers=h)
    assert r.status_code == 500
    assert session.scalar(select(Department).where(Department.code == "ROLLBK")) is None
    assert session.scalar(select(AuditLog).where(AuditLog.action == "department.create")) is None
    monkeypatch.setattr(audit_service, "record", original)
    ok = client.post("/api/v1/org/departments", json={"code": "ROLLBK", "name": "回滚"}, headers=h)
    assert ok.status_code == 201
    rows = session.scalars(select(AuditLog).where(AuditLog.action == "department.create")).all()
    assert [a.target_id for a in rows] == [str(ok.json()["id"])]


def _cc_recorded_call(c: Ctx) -> str:
    from kefu.callcenter.models import Call

    return c.session.get(Call, _cc_call(c, answered=True)).call_id


SCENARIOS.update(
    {
        ("PUT", f"{CC}/cti/calls/{{call_id}}/recording"): lambda c: (
            f"{CC}/cti/calls/{_cc_recorded_call(c)}/recording",
            {"__files__": {"file": ("walk.wav", _ivr_wav(), "audio/wav")}},
        ),
    }
)


# --- call center: queues, skills, agents' skill levels (callcenter.config) ---------------------------
# The PBX's routing request records its decision as call events (an offer is a `ringing` event of
# source "acd"), like the CTI events above: tests/api/callcenter/test_routing.py checks them.
OWN_EVENT_LOG |= {("POST", f"{CC}/route")}
MUTATING = [r for r in MUTATING if r not in OWN_EVENT_LOG]


def _cc_skill(c: Ctx) -> int:
    from kefu.callcenter.models import Skill

    row = Skill(code=f"walk{c.admin.id}", name="walk")
    c.session.add(row)
    c.session.flush()
    return row.id


def _cc_queue(c: Ctx) -> int:
    from kefu.callcenter.models import CallQueue

    row = CallQueue(code=f"walkq{c.admin.id}", name="walk")
    c.session.add(row)
    c.session.flush()
    return row.id


QUEUE_SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("POST", f"{CC}/skills"): lambda c: (f"{CC}/skills", {"code": "walk", "name": "walk"}),
    ("PUT", f"{CC}/skills/{{skill_id}}"): lambda c: (
        f"{CC}/skills/{_cc_skill(c)}",
        {"code": "walk2", "name": "walk2"},
    ),
    ("DELETE", f"{CC}/skills/{{skill_id}}"): lambda c: (f"{CC}/skills/{_cc_skill(c)}", None),
    ("PUT", f"{CC}/agent-skills/{{user_id}}"): lambda c: (
        f"{CC}/agent-skills/{c.admin.id}",
        {"levels": {_cc_skill(c): 5}},
    ),
    ("POST", f"{CC}/queues"): lambda c: (f"{CC}/queues", {"code": "walkq", "name": "walk"}),
    ("PUT", f"{CC}/queues/{{queue_id}}"): lambda c: (
        f"{CC}/queues/{_cc_queue(c)}",
        {"code": "walkq2", "name": "walk2", "routing": "kefu"},
    ),
    ("DELETE", f"{CC}/queues/{{queue_id}}"): lambda c: (f"{CC}/queues/{_cc_queue(c)}", None),
}
SCENARIOS.update(QUEUE_SCENARIOS)


# --- outbound campaigns (外呼任务) ------------------------------------------------------------------------
# The PBX's survey steps are machine-reported facts like CTI events: each answer is kept on the campaign
# target with the call (tests/api/callcenter/test_campaigns.py), not in the audit log.
CAMPAIGNS = f"{CC}/campaigns"
CAMPAIGN_STEP = ("POST", f"{CAMPAIGNS}/step")
OWN_EVENT_LOG.add(CAMPAIGN_STEP)
if CAMPAIGN_STEP in MUTATING:
    MUTATING.remove(CAMPAIGN_STEP)


def _campaign(c: Ctx, status: str = "draft", targets: int = 1) -> int:
    from kefu.callcenter.models import Campaign, CampaignTarget

    row = Campaign(
        name="walk", status=status, created_by_id=c.admin.id, weekdays=[1], questions=[], retry_minutes={}
    )
    c.session.add(row)
    c.session.flush()
    for i in range(targets):
        number = f"1390013{i:04d}"
        c.session.add(CampaignTarget(campaign_id=row.id, number=number, number_key="+86" + number))
    c.session.flush()
    return row.id


CAMPAIGN_SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("POST", CAMPAIGNS): lambda c: (CAMPAIGNS, {"name": "walk", "kind": "notice"}),
    ("PATCH", f"{CAMPAIGNS}/{{campaign_id}}"): lambda c: (f"{CAMPAIGNS}/{_campaign(c)}", {"name": "walk 2"}),
    ("POST", f"{CAMPAIGNS}/{{campaign_id}}/start"): lambda c: (f"{CAMPAIGNS}/{_campaign(c)}/start", None),
    ("POST", f"{CAMPAIGNS}/{{campaign_id}}/pause"): lambda c: (
        f"{CAMPAIGNS}/{_campaign(c, 'running')}/pause",
        None,
    ),
    ("POST", f"{CAMPAIGNS}/{{campaign_id}}/resume"): lambda c: (
        f"{CAMPAIGNS}/{_campaign(c, 'paused')}/resume",
        None,
    ),
    ("POST", f"{CAMPAIGNS}/{{campaign_id}}/cancel"): lambda c: (f"{CAMPAIGNS}/{_campaign(c)}/cancel", None),
    ("POST", f"{CAMPAIGNS}/{{campaign_id}}/targets"): lambda c: (
        f"{CAMPAIGNS}/{_campaign(c, targets=0)}/targets",
        {"targets": [{"number": "13800138000"}]},
    ),
    ("POST", f"{CAMPAIGNS}/{{campaign_id}}/targets/customers"): lambda c: (
        f"{CAMPAIGNS}/{_campaign(c, targets=0)}/targets/customers",
        {"filter": {}},
    ),
    ("POST", f"{CAMPAIGNS}/{{campaign_id}}/targets/upload"): lambda c: (
        f"{CAMPAIGNS}/{_campaign(c, targets=0)}/targets/upload",
        {"__files__": {"file": ("walk.csv", b"number\n13800138000\n", "text/csv")}},
    ),
}
SCENARIOS.update(CAMPAIGN_SCENARIOS)


# --- IVR menus and voice prompts (callcenter_ivr) ----------------------------------------------------
# The PBX's IVR step keeps its own log (the IVR session row: its path, data and answer sequence).
MUTATING = [r for r in MUTATING if r != ("POST", "/api/v1/callcenter/ivr/step")]


def _ivr_prompt(c: Ctx, *, audio: bool = False) -> int:
    import io

    from kefu.callcenter import prompts

    actor = c.factory.actor(c.admin)
    upload = prompts.Upload("walk.wav", "audio/wav", io.BytesIO(_ivr_wav())) if audio else None
    data = {"code": "walk", "name": "walk", "text": "您好"}
    return prompts.create(c.session, actor=actor, data=data, upload=upload).id


def _ivr_menu(c: Ctx) -> int:
    from kefu.callcenter import ivr

    return ivr.create(c.session, actor=c.factory.actor(c.admin), data={"code": "walk", "name": "walk"}).id


def _ivr_wav() -> bytes:
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * 800)
    return out.getvalue()


IVR = "/api/v1/callcenter"
IVR_SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("POST", f"{IVR}/prompts"): lambda c: (
        f"{IVR}/prompts",
        {"code": "walk", "name": "walk", "__files__": {"file": ("walk.wav", _ivr_wav(), "audio/wav")}},
    ),
    ("PATCH", f"{IVR}/prompts/{{prompt_id}}"): lambda c: (
        f"{IVR}/prompts/{_ivr_prompt(c)}",
        {"name": "walk2"},
    ),
    ("PUT", f"{IVR}/prompts/{{prompt_id}}/audio"): lambda c: (
        f"{IVR}/prompts/{_ivr_prompt(c)}/audio",
        {"__files__": {"file": ("walk.wav", _ivr_wav(), "audio/wav")}},
    ),
    ("DELETE", f"{IVR}/prompts/{{prompt_id}}/audio"): lambda c: (
        f"{IVR}/prompts/{_ivr_prompt(c, audio=True)}/audio",
        None,
    ),
    ("DELETE", f"{IVR}/prompts/{{prompt_id}}"): lambda c: (f"{IVR}/prompts/{_ivr_prompt(c)}", None),
    ("POST", f"{IVR}/ivr/menus"): lambda c: (f"{IVR}/ivr/menus", {"code": "walk", "name": "walk"}),
    ("PUT", f"{IVR}/ivr/menus/{{menu_id}}"): lambda c: (
        f"{IVR}/ivr/menus/{_ivr_menu(c)}",
        {"code": "walk", "name": "walk2", "options": [{"digit": "1", "action": "repeat"}]},
    ),
    ("DELETE", f"{IVR}/ivr/menus/{{menu_id}}"): lambda c: (f"{IVR}/ivr/menus/{_ivr_menu(c)}", None),
}
SCENARIOS.update(IVR_SCENARIOS)


# --- complaints, dispatch rules and fault / cutover notices (tickets_faults) -----------------------------


def _fault_notice(c: Ctx) -> int:
    from datetime import timedelta

    from kefu.core import clock
    from kefu.tickets import fault_notices

    now = clock.now()
    values = {"title": "walk", "areas": ["east"], "starts_at": now, "ends_at": now + timedelta(hours=1)}
    return fault_notices.create(c.session, actor=c.factory.actor(c.admin), values=values).id


def _dispatch_rule(c: Ctx) -> int:
    from kefu.tickets import faults

    values = {"name": "walk", "department_id": c.factory.department().id}
    return faults.create_rule(c.session, actor=c.factory.actor(c.admin), values=values).id


FAULTS = "/api/v1/tickets"
FAULT_SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("POST", f"{FAULTS}/complaints"): lambda c: (
        f"{FAULTS}/complaints",
        {"type_id": _tk(c).type_id, "channel": "phone", "subject": "walk", "nature": "complaint"},
    ),
    ("POST", f"{FAULTS}/dispatch-rules"): lambda c: (
        f"{FAULTS}/dispatch-rules",
        {"name": "walk", "department_id": c.factory.department().id},
    ),
    ("PUT", f"{FAULTS}/dispatch-rules/{{rule_id}}"): lambda c: (
        f"{FAULTS}/dispatch-rules/{_dispatch_rule(c)}",
        {"name": "walk2", "department_id": c.factory.department().id},
    ),
    ("DELETE", f"{FAULTS}/dispatch-rules/{{rule_id}}"): lambda c: (
        f"{FAULTS}/dispatch-rules/{_dispatch_rule(c)}",
        None,
    ),
    ("POST", f"{FAULTS}/fault-notices"): lambda c: (
        f"{FAULTS}/fault-notices",
        {
            "title": "walk",
            "areas": ["east"],
            "starts_at": "2026-01-01T08:00:00+08:00",
            "ends_at": "2026-01-01T10:00:00+08:00",
        },
    ),
    ("PATCH", f"{FAULTS}/fault-notices/{{notice_id}}"): lambda c: (
        f"{FAULTS}/fault-notices/{_fault_notice(c)}",
        {"status": "published"},
    ),
    ("DELETE", f"{FAULTS}/fault-notices/{{notice_id}}"): lambda c: (
        f"{FAULTS}/fault-notices/{_fault_notice(c)}",
        None,
    ),
}
SCENARIOS.update(FAULT_SCENARIOS)


# Saved ticket queries (自定义查询, TKT-18): each change of one is audited.
def _saved_query(c: Ctx) -> int:
    from kefu.tickets import search_service

    actor = c.factory.actor(c.admin)
    return search_service.create(c.session, actor, {"name": "walk", "conditions": {"keyword": "宽带"}}).id


SAVED = "/api/v1/tickets/saved-queries"
SCENARIOS.update(
    {
        ("POST", SAVED): lambda c: (SAVED, {"name": "walk", "conditions": {"status": ["open"]}}),
        ("PATCH", f"{SAVED}/{{query_id}}"): lambda c: (f"{SAVED}/{_saved_query(c)}", {"shared": True}),
        ("DELETE", f"{SAVED}/{{query_id}}"): lambda c: (f"{SAVED}/{_saved_query(c)}", None),
    }
)


# --- ticket merging and ticket → knowledge (tickets_merge) --------------------------------------------


def _tm_pair(c: Ctx, *, merged: bool = False) -> tuple[Any, Any]:
    """Two open tickets of one type; with `merged`, the second already merged into the first."""
    from kefu.tickets import merging
    from kefu.tickets import service as tickets

    first = _tk(c)
    actor = c.factory.actor(c.admin)
    second = tickets.register(
        c.session, actor=actor, ticket_type=first.ticket_type, channel="phone", subject="walk"
    )
    if merged:
        merging.merge(c.session, actor=actor, survivor=first, ticket_ids=[second.id], expected_version=None)
    c.session.flush()
    return first, second


def _tm_category(c: Ctx) -> int:
    from kefu.knowledge.models import KnowledgeCategory

    row = KnowledgeCategory(name="walk")
    c.session.add(row)
    c.session.flush()
    row.path = f"/{row.id}/"
    c.session.flush()
    return row.id


SCENARIOS.update(
    {
        ("POST", "/api/v1/tickets/{ticket_id}/merge"): lambda c: (
            lambda pair: (f"/api/v1/tickets/{pair[0].id}/merge", {"ticket_ids": [pair[1].id]})
        )(_tm_pair(c)),
        ("POST", "/api/v1/tickets/{ticket_id}/split"): lambda c: (
            lambda pair: (f"/api/v1/tickets/{pair[1].id}/split", {"comment": "walk"})
        )(_tm_pair(c, merged=True)),
        ("POST", "/api/v1/tickets/{ticket_id}/knowledge-draft"): lambda c: (
            lambda t: (f"/api/v1/tickets/{t.id}/knowledge-draft", {"category_id": _tm_category(c)})
        )(_tk(c, closed=True)),
    }
)


# --- business acceptance orders (tickets_acceptance) -----------------------------------------------------


def _acc_setup(c: Ctx) -> Any:
    """The acceptance types, handled in the admin's own department (so the admin is in the pool)."""
    from kefu.org.config.dictionary import seed_defaults
    from kefu.tickets.acceptance_flows import ensure_acceptance_types

    seed_defaults(c.session)
    dept = c.factory.department()
    c.admin.department_id = dept.id
    c.session.flush()
    ensure_acceptance_types(c.session, actor=c.factory.actor(c.admin), department_id=dept.id)
    c.session.flush()


def _acc(c: Ctx, *, mode: str = "serve_first", step: str = "") -> Any:
    """An order registered by the admin: pending; `step` "locked" (the admin took it) or "rejected"."""
    from kefu.tickets import acceptance
    from kefu.tickets import acceptance_values as values

    _acc_setup(c)
    actor = c.factory.actor(c.admin)
    ticket, row = acceptance.create(
        c.session,
        actor=actor,
        payment_mode=mode,
        type_id=None,
        order=values.OrderValues(kind="install"),
        ticket=values.TicketValues(customer_name="walk", customer_phone="13800138000"),
    )
    if step in ("locked", "rejected"):
        acceptance.lock(c.session, actor=actor, ticket=ticket, row=row, expected_version=None)
    if step == "rejected":
        acceptance.reject(
            c.session, actor=actor, ticket=ticket, row=row, expected_version=None, reason="walk"
        )
    c.session.flush()
    return ticket


ACC = "/api/v1/tickets/acceptance"


def _acc_action(action: str, body: dict[str, Any], **kw: Any) -> Scenario:
    return lambda c: (lambda t: (f"{ACC}/{t.id}/{action}", body))(_acc(c, **kw))


SCENARIOS.update(
    {
        ("POST", ACC): lambda c: (
            _acc_setup(c),
            (
                ACC,
                {
                    "payment_mode": "pay_first",
                    "kind": "install",
                    "customer_name": "walk",
                    "customer_phone": "13800138000",
                },
            ),
        )[1],
        ("POST", f"{ACC}/types"): lambda c: (f"{ACC}/types", {}),
        ("POST", f"{ACC}/{{ticket_id}}/lock"): _acc_action("lock", {}),
        ("POST", f"{ACC}/{{ticket_id}}/unlock"): _acc_action("unlock", {}, step="locked"),
        ("POST", f"{ACC}/{{ticket_id}}/reject"): _acc_action("reject", {"reason": "walk"}, step="locked"),
        ("POST", f"{ACC}/{{ticket_id}}/complete"): _acc_action("complete", {"reply": "walk"}, step="locked"),
        ("POST", f"{ACC}/{{ticket_id}}/payment"): _acc_action("payment", {"amount": "10"}, mode="pay_first"),
        ("POST", f"{ACC}/{{ticket_id}}/resubmit"): _acc_action(
            "resubmit", {"comment": "walk"}, step="rejected"
        ),
    }
)
