"""A ticket action that would lead into a countersign (会签) nobody can sign fails and changes nothing
(WF-5, WF-9): the ticket keeps its step, handler, status, version, log and audit trail."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from kefu.audit.models import AuditLog
from kefu.tickets.models import Ticket, TicketLog, TicketType
from kefu.workflow import flows
from kefu.workflow.runtime.models import FlowEvent, FlowInstance, FlowTask

COUNTERSIGN = Path(__file__).parents[1] / "workflow_runtime" / "flows" / "countersign.bpmn"
TO_SIGN = ('sourceRef="start" targetRef="prepare"', 'sourceRef="start" targetRef="sign"')
REFUSAL = "会签“Countersign”没有参与人"


def _refund_type(desk, code: str, *, straight_to_sign: bool = False) -> TicketType:
    """A ticket type on the refund flow: prepare (the registering agent) → countersign of role leader."""
    xml = COUNTERSIGN.read_text(encoding="utf-8")
    if straight_to_sign:
        assert TO_SIGN[0] in xml
        xml = xml.replace(*TO_SIGN)
    admin = desk.factory.actor(desk.factory.user(admin=True))
    template = flows.create_template(desk.session, actor=admin, code=code, name=code, bpmn_xml=xml)
    flows.publish(desk.session, actor=admin, version=template.versions[0])
    ticket_type = TicketType(code=code, name=code, prefix=code.upper()[:6], flow_template_id=template.id)
    desk.session.add(ticket_type)
    desk.session.flush()
    return ticket_type


def _counts(session) -> dict[str, int]:
    session.expire_all()
    tables = {
        "tickets": Ticket,
        "logs": TicketLog,
        "instances": FlowInstance,
        "tasks": FlowTask,
        "events": FlowEvent,
        "audit": AuditLog,
    }
    return {name: session.scalar(select(func.count()).select_from(t)) for name, t in tables.items()}


def test_completing_the_step_before_an_empty_countersign_is_refused(desk, session):
    ticket_type = _refund_type(desk, "refund")
    t = desk.register(type_id=ticket_type.id, fields={})
    assert t["stage"] == "Prepare refund" and t["handler_id"] == desk.agent.user.id
    before = desk.get(t["id"], desk.agent)
    counts = _counts(session)

    refused = desk.act(t, "complete", desk.agent, {"state": "done", "comment": "请会签"}, expect=409)

    assert refused["code"] == "conflict" and refused["detail"].startswith(REFUSAL), refused["detail"]
    assert _counts(session) == counts
    after = desk.get(t["id"], desk.agent)
    for key in ("version", "status", "stage", "handler_id", "log"):
        assert after[key] == before[key], key
    # The refused step can be done once the countersign has someone to ask.
    leader_role = desk.factory.role(["tickets.ticket.handle"])
    leader_role.code = "leader"
    leader = desk.factory.user(["tickets.ticket.handle"], department=desk.back)
    leader.roles = [*leader.roles, leader_role]
    session.flush()
    done = desk.act(after, "complete", desk.agent, {"state": "done"})
    assert done["stage"] == "Countersign" and done["handler_id"] == leader.id


def test_registering_a_ticket_whose_flow_opens_with_an_empty_countersign_is_refused(desk, session):
    ticket_type = _refund_type(desk, "refund2", straight_to_sign=True)
    counts = _counts(session)
    refused = desk.register(type_id=ticket_type.id, fields={}, expect=409)
    assert refused["detail"].startswith(REFUSAL), refused["detail"]
    assert _counts(session) == counts
