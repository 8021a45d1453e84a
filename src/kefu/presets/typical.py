"""The typical ticket of a preset: registered as the preset's registrar would, and walked through its
flow step by step as the people named in the file would (the demo's sample tickets, and tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.errors import Conflict
from kefu.customers.models import Customer
from kefu.presets.schema import StepSpec
from kefu.tickets import service
from kefu.tickets.models import CaseTemplate, Ticket, TicketType

if TYPE_CHECKING:
    from kefu.presets.loader import Loader


def register(
    loader: Loader, *, customer: str = "", subject: str = "", fields: Mapping[str, Any] | None = None
) -> Ticket:
    """Register the typical ticket (for `customer`, default the typical one; `fields` override)."""
    spec = loader.preset.typical
    session = loader.session
    code = customer or spec.customer
    customer_id = loader.customers.get(code) or session.scalar(
        select(Customer.id).where(Customer.code == code)
    )
    case = (
        session.scalars(select(CaseTemplate).where(CaseTemplate.code == spec.case)).first()
        if spec.case
        else None
    )
    ticket_type = (
        loader.types.get(spec.type)
        or session.scalars(select(TicketType).where(TicketType.code == spec.type)).one()
    )
    return service.register(
        session,
        actor=loader.actor_of(spec.registrar, "typical.registrar"),
        ticket_type=ticket_type,
        case_template=case,
        channel=spec.channel,
        subject=subject or spec.subject or None,
        description=spec.description,
        priority=spec.priority or None,
        nature=spec.nature or None,
        customer_id=customer_id,
        fields={**spec.fields, **(fields or {})},
    )


def walk(loader: Loader, ticket: Ticket, steps: Sequence[StepSpec]) -> Ticket:
    """Take each step as its person: accept, reply, complete with a state, or dispatch to someone."""
    session = loader.session
    for i, step in enumerate(steps):
        actor = loader.actor_of(step.user, f"typical.steps[{i}].user")
        if step.action == "accept":
            service.accept(session, actor=actor, ticket=ticket, expected_version=None)
        elif step.action == "reply":
            service.reply(session, actor=actor, ticket=ticket, expected_version=None, comment=step.comment)
        elif step.action == "complete":
            service.complete(
                session,
                actor=actor,
                ticket=ticket,
                expected_version=None,
                state=step.state,
                comment=step.comment,
            )
        else:
            waiting = [t for t in service.active_tasks(session, ticket) if t.assignee_id is None]
            if not waiting:
                raise Conflict("No step of the ticket waits for dispatch")
            to = loader.user(step.to, f"typical.steps[{i}].to")
            service.dispatch(
                session,
                actor=actor,
                ticket=ticket,
                expected_version=None,
                task_id=waiting[0].id,
                user_id=to.id,
                comment=step.comment,
            )
    return ticket


def run(session: Session, name: str, *, steps: int | None = None) -> Ticket:
    """Register the typical ticket of the loaded preset `name` and walk `steps` of its steps (all)."""
    from kefu.presets import files
    from kefu.presets.loader import Loader

    loader = Loader(session, files.read(name), file=files.path_of(name).name, password="")
    ticket = register(loader)
    return walk(loader, ticket, loader.preset.typical.steps[:steps])
