"""The two acceptance flows (TKT-15): their steps in order, as the BPMN says and as an order walks
them, and setting up the types once however often it is asked."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu.tickets.acceptance_flows import (
    FLOW_CODES,
    acceptance_flow,
    acceptance_types,
    ensure_acceptance_types,
    mode_of,
)
from kefu.tickets.acceptance_models import PaymentMode
from kefu.tickets.models import TicketType
from kefu.workflow import builder
from kefu.workflow.models import FlowTemplate


def _routes(mode: PaymentMode) -> dict[tuple[str, str], str]:
    flow = builder.from_bpmn(acceptance_flow(mode))
    assert flow is not None and not builder.validate_simple(flow)
    return {(node.id, s.code): s.next for node in flow.nodes for s in node.states}


def test_pay_first_confirms_the_payment_before_the_business_is_handled():
    flow = builder.from_bpmn(acceptance_flow(PaymentMode.PAY_FIRST))
    assert flow is not None and flow.nodes[0].name == "缴费确认"
    assert _routes(PaymentMode.PAY_FIRST) == {
        ("payment", "paid"): "handle",
        ("handle", "done"): builder.END,
        ("handle", "reject"): "correct",
        ("correct", "resubmit"): "handle",
    }


def test_serve_first_handles_the_business_before_the_payment():
    flow = builder.from_bpmn(acceptance_flow(PaymentMode.SERVE_FIRST))
    assert flow is not None and flow.nodes[0].name == "业务办理"
    assert _routes(PaymentMode.SERVE_FIRST) == {
        ("handle", "done"): "payment",
        ("payment", "paid"): builder.END,
        ("handle", "reject"): "correct",
        ("correct", "resubmit"): "handle",
    }
    handle = next(n for n in flow.nodes if n.id == "handle")
    assert handle.dispatch == "grab" and [r.kind for r in handle.assign] == ["handling_department"]


def test_types_are_set_up_once(factory, session):
    admin = factory.actor(factory.user(admin=True))
    dept = factory.department("营业厅")
    first = ensure_acceptance_types(session, actor=admin, department_id=dept.id)
    again = ensure_acceptance_types(session, actor=admin, department_id=None)
    assert {k: t.id for k, t in first.items()} == {k: t.id for k, t in again.items()}
    assert set(first) == {"pay_first", "serve_first"}
    assert first["pay_first"].default_department_id == dept.id and first["pay_first"].prefix == "BAP"
    templates = session.scalar(
        select(func.count()).select_from(FlowTemplate).where(FlowTemplate.code.in_(FLOW_CODES.values()))
    )
    assert templates == 2
    assert {mode for _, mode in acceptance_types(session)} == set(PaymentMode)
    assert mode_of(session, first["serve_first"]) is PaymentMode.SERVE_FIRST
    other = session.scalars(select(TicketType).where(TicketType.id.not_in([t.id for t in first.values()])))
    assert all(mode_of(session, t) is None for t in other)
