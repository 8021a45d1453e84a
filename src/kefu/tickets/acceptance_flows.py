"""The two acceptance flows (先缴费后服务 / 先服务后缴费) and the ticket types that run on them.

pay first:   受理 (registration) → 缴费确认 payment → 业务办理 handle → end
serve first: 受理 (registration) → 业务办理 handle → 缴费确认 payment → end
In both, the handler may reject (审核不通过) at 业务办理: the order goes to 修改重报 correct, with the
registering agent, whose resubmission puts it back into the handling pool.

业务办理 is a grab node in the order's handling department: the order waits in the department's pool
until a handler takes it, which locks it. 缴费确认 and 修改重报 go to the registering agent. The flows
are built with the simple builder, so they open in the designer; the order's actions recognise the
steps by their state codes (`paid`, `done`, `reject`, `resubmit`), which an edited flow must keep.

A ticket type is an acceptance type when its flow template is one of the two flows below; its payment
mode is that flow's. `ensure_acceptance_types` sets up both (idempotent) for demos and deployments.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.permissions import Actor
from kefu.tickets.acceptance_models import PaymentMode
from kefu.tickets.models import BusinessCategory, TicketType
from kefu.workflow import builder, flows
from kefu.workflow.models import FlowTemplate

PAID, DONE, REJECT, RESUBMIT = "paid", "done", "reject", "resubmit"
PAYMENT_NODE, HANDLE_NODE, CORRECT_NODE = "payment", "handle", "correct"
FLOW_CODES: dict[PaymentMode, str] = {
    PaymentMode.PAY_FIRST: "acceptance_pay_first",
    PaymentMode.SERVE_FIRST: "acceptance_serve_first",
}
FLOW_NAMES: dict[PaymentMode, str] = {
    PaymentMode.PAY_FIRST: "业务受理（先缴费后服务）",
    PaymentMode.SERVE_FIRST: "业务受理（先服务后缴费）",
}
# Ticket type code → (payment mode, serial prefix).
TYPE_CODES: dict[PaymentMode, tuple[str, str]] = {
    PaymentMode.PAY_FIRST: ("acceptance_pay_first", "BAP"),
    PaymentMode.SERVE_FIRST: ("acceptance_serve_first", "BAS"),
}
CATEGORY_CODE = "acceptance"
HANDLE_LIMIT = "P2D"
TYPE_LIMIT = "P5D"


def _payment(following: str) -> builder.SimpleNode:
    return builder.SimpleNode(
        id=PAYMENT_NODE,
        name="缴费确认",
        dispatch="auto",
        assign=[builder.AssignRule("initiator")],
        states=[builder.StateRule(PAID, "已缴费", following)],
    )


def _handle(done_next: str) -> builder.SimpleNode:
    return builder.SimpleNode(
        id=HANDLE_NODE,
        name="业务办理",
        dispatch="grab",
        assign=[builder.AssignRule("handling_department")],
        states=[
            builder.StateRule(DONE, "办理完成", done_next),
            builder.StateRule(REJECT, "审核不通过", CORRECT_NODE),
        ],
        limit=HANDLE_LIMIT,
        escalation="notify",
    )


def _correct() -> builder.SimpleNode:
    return builder.SimpleNode(
        id=CORRECT_NODE,
        name="修改重报",
        dispatch="auto",
        assign=[builder.AssignRule("initiator")],
        states=[builder.StateRule(RESUBMIT, "重新提交", HANDLE_NODE)],
    )


def acceptance_flow(mode: PaymentMode) -> str:
    """The BPMN XML of the acceptance flow of `mode`."""
    if mode is PaymentMode.PAY_FIRST:
        nodes = [_payment(HANDLE_NODE), _handle(builder.END), _correct()]
    else:
        nodes = [_handle(PAYMENT_NODE), _payment(builder.END), _correct()]
    flow = builder.SimpleFlow(code=FLOW_CODES[mode], name=FLOW_NAMES[mode], nodes=nodes)
    return builder.to_bpmn(flow)


def publish_acceptance_flow(session: Session, *, actor: Actor, mode: PaymentMode) -> FlowTemplate:
    """The acceptance flow template of `mode`, created and published if it does not exist yet."""
    code = FLOW_CODES[mode]
    found = session.scalars(select(FlowTemplate).where(FlowTemplate.code == code)).first()
    if found is not None:
        return found
    template = flows.create_template(
        session, actor=actor, code=code, name=FLOW_NAMES[mode], bpmn_xml=acceptance_flow(mode)
    )
    flows.publish(session, actor=actor, version=template.versions[0])
    session.flush()
    return template


def _category(session: Session) -> BusinessCategory:
    found = session.scalars(select(BusinessCategory).where(BusinessCategory.code == CATEGORY_CODE)).first()
    if found is not None:
        return found
    category = BusinessCategory(code=CATEGORY_CODE, name="业务受理", description="开通或变更业务的受理申请单")
    session.add(category)
    session.flush()
    category.path = f"/{category.id}/"
    session.flush()
    return category


def ensure_acceptance_types(
    session: Session, *, actor: Actor, department_id: int | None
) -> dict[str, TicketType]:
    """One acceptance ticket type per payment mode (keys `pay_first`, `serve_first`), with their flows
    published and the business category 业务受理; created when missing, else left as they are.

    `department_id` is where new orders of a newly created type are handled (its handlers take
    them from that department's pool). Used by the demo presets and `POST /api/v1/tickets/acceptance/types`.
    """
    made: dict[str, TicketType] = {}
    for mode in PaymentMode:
        code, prefix = TYPE_CODES[mode]
        found = session.scalars(select(TicketType).where(TicketType.code == code)).first()
        if found is None:
            template = publish_acceptance_flow(session, actor=actor, mode=mode)
            found = TicketType(
                code=code,
                name=FLOW_NAMES[mode],
                prefix=prefix,
                category_id=_category(session).id,
                flow_template_id=template.id,
                default_department_id=department_id,
                limit=TYPE_LIMIT,
                default_priority="normal",
                description="业务受理申请单（TKT-15）",
            )
            session.add(found)
            session.flush()
        made[mode.value] = found
    return made


def mode_of(session: Session, ticket_type: TicketType) -> PaymentMode | None:
    """The payment mode of an acceptance type (None: not an acceptance type)."""
    template = session.get(FlowTemplate, ticket_type.flow_template_id)
    code = template.code if template is not None else ""
    return next((mode for mode, flow_code in FLOW_CODES.items() if flow_code == code), None)


def acceptance_types(session: Session) -> list[tuple[TicketType, PaymentMode]]:
    """Every enabled acceptance type with its payment mode, in the order types are listed."""
    stmt = (
        select(TicketType, FlowTemplate.code)
        .join(FlowTemplate, FlowTemplate.id == TicketType.flow_template_id)
        .where(TicketType.enabled.is_(True), FlowTemplate.code.in_(FLOW_CODES.values()))
        .order_by(TicketType.sort, TicketType.id)
    )
    modes = {code: mode for mode, code in FLOW_CODES.items()}
    return [(ticket_type, modes[code]) for ticket_type, code in session.execute(stmt).tuples()]
