"""The standard ticket flow (标准工单流程) and a ready-made setup for demos and tests.

handle (处理, auto-dispatched in the ticket's handling department) → review (审核, the registering
agent's supervisor: pass → close, fail → back to whoever handled it) → close (关闭, the registering
agent confirms with the customer) → end. Built with the simple builder, so it opens in the designer.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.permissions import Actor
from kefu.tickets.models import TicketType
from kefu.workflow import builder, flows
from kefu.workflow.models import FlowTemplate

STANDARD_FLOW = "ticket_standard"


def standard_flow(code: str = STANDARD_FLOW, name: str = "标准工单流程", *, limit: str = "P2D") -> str:
    """The BPMN XML of the standard flow."""
    nodes = [
        builder.SimpleNode(
            id="handle",
            name="处理",
            dispatch="auto",
            assign=[builder.AssignRule("handling_department")],
            states=[builder.StateRule("complete", "完成", "review")],
            limit=limit,
            escalation="notify",
        ),
        builder.SimpleNode(
            id="review",
            name="审核",
            dispatch="auto",
            assign=[builder.AssignRule("submitter_supervisor")],
            states=[
                builder.StateRule("pass", "通过", "close"),
                builder.StateRule("fail", "不通过", "handle"),
            ],
        ),
        builder.SimpleNode(
            id="close",
            name="关闭",
            dispatch="auto",
            assign=[builder.AssignRule("initiator")],
            states=[builder.StateRule("close", "关闭", builder.END)],
        ),
    ]
    return builder.to_bpmn(builder.SimpleFlow(code=code, name=name, nodes=nodes))


def publish_standard_flow(session: Session, *, actor: Actor, code: str = STANDARD_FLOW) -> FlowTemplate:
    """The standard flow template, created and published if it does not exist yet."""
    found = session.scalars(select(FlowTemplate).where(FlowTemplate.code == code)).first()
    if found is not None:
        return found
    template = flows.create_template(
        session, actor=actor, code=code, name="标准工单流程", bpmn_xml=standard_flow(code)
    )
    flows.publish(session, actor=actor, version=template.versions[0])
    session.flush()
    return template


def standard_type(
    session: Session,
    *,
    actor: Actor,
    code: str = "TS",
    name: str = "咨询投诉",
    department_id: int | None = None,
    form_template_id: int | None = None,
) -> TicketType:
    """A ticket type on the standard flow (created if missing)."""
    found = session.scalars(select(TicketType).where(TicketType.code == code)).first()
    if found is not None:
        return found
    template = publish_standard_flow(session, actor=actor)
    ticket_type = TicketType(
        code=code,
        name=name,
        prefix=code.upper()[:6],
        flow_template_id=template.id,
        default_department_id=department_id,
        form_template_id=form_template_id,
        limit="P3D",
        default_priority="normal",
    )
    session.add(ticket_type)
    session.flush()
    return ticket_type
