"""Complaints (TKT-13): class from the form, repeat and secondary complaints, on-the-spot closing."""

from __future__ import annotations

from datetime import timedelta

from kefu.core import clock
from kefu.tickets import service
from kefu.tickets.models import FormTemplate, TemplateStatus, Ticket
from tests.api.tickets.conftest import ELEMENTS, Desk

COMPLAINT_ELEMENTS = [
    *ELEMENTS,
    {
        "code": "complaint_class",
        "label": "投诉分类",
        "type": "choice",
        "options": [["line", "线路质量"], ["product", "产品质量"], ["service", "服务质量"]],
    },
]


def _complaint_form(desk: Desk) -> None:
    form = FormTemplate(
        code="complaint", name="投诉单", status=TemplateStatus.ACTIVE, elements=COMPLAINT_ELEMENTS
    )
    desk.session.add(form)
    desk.session.flush()
    desk.ticket_type.form_template_id = form.id
    desk.session.flush()


def _complain(desk: Desk, phone: str, klass: str, subject: str = "网速太慢", **extra):
    return desk.call(
        "POST",
        "/complaints",
        desk.agent,
        {
            "type_id": desk.ticket_type.id,
            "channel": "phone",
            "subject": subject,
            "nature": "complaint",
            "customer_name": "张三",
            "customer_phone": phone,
            "fields": {"contact_phone": phone, "complaint_class": klass},
            **extra,
        },
        expect=201,
    )


def _close(desk: Desk, ticket: dict) -> None:
    """Walk the standard flow to its end as its handlers would (handle → review → close)."""
    people = {p.user.id: p for p in (desk.h1, desk.h2, desk.leader, desk.agent)}
    forward = {"handle": "complete", "review": "pass", "close": "close"}
    row = desk.session.get(Ticket, ticket["id"])
    for _ in range(3):
        desk.session.refresh(row)
        task = service.active_tasks(desk.session, row)[0]
        desk.act(
            desk.get(row.id, desk.leader),
            "complete",
            people[task.assignee_id],
            {"state": forward[task.node_id], "task_id": task.id},
        )
    assert desk.get(row.id, desk.leader)["status"] == "closed"


def test_repeat_and_secondary_complaints_on_a_scripted_sequence(desk: Desk):
    _complaint_form(desk)
    first = _complain(desk, "13800000001", "line")
    assert first["facts"]["complaint_flag"] == ""
    assert first["facts"]["complaint_class"] == "line"

    # The same customer, the same matter, the first still open: a repeat complaint.
    repeat = _complain(desk, "13800000001", "line", subject="还是网速慢")
    assert repeat["facts"]["complaint_flag"] == "repeat"
    assert repeat["facts"]["related_ticket_id"] == first["id"]
    assert repeat["facts"]["related_serial"] == first["serial"]
    assert any(e["action"] == "complaint_repeat" for e in repeat["log"])
    read = desk.get(repeat["id"], desk.leader)  # the ticket itself carries the flag on the API
    assert (read["complaint_flag"], read["complaint_class"], read["related_ticket_id"]) == (
        "repeat",
        "line",
        first["id"],
    )

    # Not across customers, nor across matters.
    other_customer = _complain(desk, "13800000002", "line")
    assert other_customer["facts"]["complaint_flag"] == ""
    other_matter = _complain(desk, "13800000001", "service", subject="营业员态度差")
    assert other_matter["facts"]["complaint_flag"] == ""

    # The same subject is the same matter even without the class.
    same_subject = _complain(desk, "13800000002", "product")
    assert same_subject["facts"]["complaint_flag"] == "repeat"
    assert same_subject["facts"]["related_ticket_id"] == other_customer["id"]

    # After the earlier complaints are closed: a secondary complaint, within the window only.
    for t in (repeat, first):
        _close(desk, t)
    secondary = _complain(desk, "13800000001", "line", subject="又断网了")
    assert secondary["facts"]["complaint_flag"] == "secondary"
    assert secondary["facts"]["related_ticket_id"] == repeat["id"]  # the newest of that matter


def test_secondary_complaint_within_the_window(desk: Desk):
    _complaint_form(desk)
    first = _complain(desk, "13800000011", "product", subject="光猫坏了")
    _close(desk, first)
    second = _complain(desk, "13800000011", "product", subject="光猫又坏了")
    assert second["facts"]["complaint_flag"] == "secondary"
    assert second["facts"]["related_ticket_id"] == first["id"]
    shown = desk.call("GET", f"/{second['id']}/facts", desk.agent)
    assert shown["complaint_flag"] == "secondary"
    # Close the second too; 31 days later the same matter is a fresh complaint again.
    _close(desk, second)
    with clock.freeze(clock.now() + timedelta(days=31)):
        later = _complain(desk, "13800000011", "product", subject="光猫第三次坏了")
    assert later["facts"]["complaint_flag"] == ""
    # A ticket of another nature is never flagged.
    plain = desk.register(customer_phone="13800000011", subject="光猫坏了", nature="inquiry")
    assert desk.call("GET", f"/{plain['id']}/facts", desk.agent)["complaint_flag"] == ""


def test_on_the_spot_closes_at_once_and_back_office_follows_the_flow(desk: Desk):
    _complaint_form(desk)
    spot = _complain(desk, "13800000021", "service", on_the_spot=True, answer="已向客户致歉并解释")
    assert spot["status"] == "closed"
    assert any(e["action"] == "on_the_spot" for e in spot["log"])
    back = _complain(desk, "13800000022", "service")
    assert back["status"] == "open"
    assert back["stage"] == "处理"
    missing = desk.call(
        "POST",
        "/complaints",
        desk.agent,
        {"type_id": desk.ticket_type.id, "channel": "phone", "subject": "x", "on_the_spot": True},
        expect=422,
    )
    assert "answer" in str(missing)
    assert desk.session.query(Ticket).filter(Ticket.subject == "x").count() == 0
